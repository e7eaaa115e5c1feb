/** Password login: who the client names, whether the password fits, and the new session. */
import { errors, MatrixError } from '../errors.ts';
import type { Db } from '../storage/database.ts';
import * as users from '../storage/users.ts';
import * as loginTokens from '../storage/loginTokens.ts';
import { hashToken, randomToken } from './secrets.ts';
import type { PasswordHasher } from './passwords.ts';
import type { RateLimits } from './rateLimits.ts';
import type { IssuedSession, Seen, SessionService } from './sessions.ts';
import type { UserIds } from './userIds.ts';
import type { AuditService } from './audit.ts';
import type { TwoFactorService } from './twoFactor.ts';

export interface PasswordLoginInput {
  /** What the client typed: a localpart or a full user id. */
  user: string;
  password: string;
  deviceId?: string;
  displayName?: string;
  withRefreshToken: boolean;
  seen: Seen;
  /** The second factor, for accounts that have it (Whisper's client sends it). */
  totpCode?: string;
}

/** Login answered this (403) when the password was right and a second factor is needed. */
export const TOTP_REQUIRED = 'ORG.WHISPER.TOTP_REQUIRED';
/** A login token is exchanged right after the page redirects back to the app. */
const LOGIN_TOKEN_TTL_MS = 2 * 60 * 1000;

export class LoginService {
  private readonly db: Db;
  private readonly passwords: PasswordHasher;
  private readonly rateLimits: RateLimits;
  private readonly sessions: SessionService;
  private readonly userIds: UserIds;
  private readonly audit: AuditService;
  private readonly twoFactor: TwoFactorService;

  constructor(deps: { db: Db; passwords: PasswordHasher; rateLimits: RateLimits; sessions: SessionService; userIds: UserIds; audit: AuditService; twoFactor: TwoFactorService }) {
    this.audit = deps.audit;
    this.twoFactor = deps.twoFactor;
    this.db = deps.db;
    this.passwords = deps.passwords;
    this.rateLimits = deps.rateLimits;
    this.sessions = deps.sessions;
    this.userIds = deps.userIds;
  }

  async passwordLogin(input: PasswordLoginInput): Promise<IssuedSession> {
    const userId = await this.checkCredentials(input.user, input.password, input.totpCode, input.seen);
    return this.startSession(userId, input, 'password');
  }

  /**
   * Who the credentials belong to, or the refusal: wrong name or password, a deactivated
   * account, or a missing or wrong second factor. Rate-limited per IP and per account; each
   * failure is audited.
   */
  async checkCredentials(user: string, password: string, totpCode: string | undefined, seen: Seen): Promise<string> {
    await this.rateLimits.consume('loginPerIp', seen.ip);
    const userId = this.userIds.resolve(user);
    const invalid = () => errors.forbidden('Invalid username or password.');
    const failed = async (accountId: string | null, reason: string) => {
      // No act to share a transaction with: the failure is the entry.
      await this.audit.record(this.db, accountId, 'login.failed', seen, accountId ? { reason } : { reason, user: user.slice(0, 255) });
      return invalid();
    };
    if (!userId) {
      await this.passwords.verify(null, password);
      throw await failed(null, 'unknown user');
    }
    await this.rateLimits.consume('loginPerAccount', userId);
    const row = await users.getUser(this.db, userId);
    // Same work whether or not the account exists, so timing does not tell.
    const ok = await this.passwords.verify(row?.password_hash ?? null, password);
    if (!row) throw await failed(null, 'unknown user');
    if (!ok) throw await failed(userId, 'wrong password');
    if (row.deactivated) {
      await failed(userId, 'deactivated');
      throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated.');
    }
    if (await this.twoFactor.isEnabled(userId)) {
      if (totpCode === undefined) {
        // Not a failure: the password was right, and the client now asks for the code.
        throw new MatrixError(403, TOTP_REQUIRED, 'This account uses two-factor authentication: enter the code from your authenticator app. ' +
          'Apps that cannot ask for it sign in through this server\'s login page (single sign-on).');
      }
      if (!(await this.twoFactor.check(userId, totpCode, seen))) throw await failed(userId, 'second factor');
    }
    return userId;
  }

  /** After the login page accepted the credentials: a token the app exchanges for a session. */
  async issueLoginToken(userId: string): Promise<string> {
    const token = randomToken('wsl');
    await loginTokens.insertLoginToken(this.db, hashToken(token), userId, Date.now() + LOGIN_TOKEN_TTL_MS);
    return token;
  }

  /** Spec: m.login.token. Each token works once, for two minutes. */
  async tokenLogin(input: Omit<PasswordLoginInput, 'user' | 'password' | 'totpCode'> & { token: string }): Promise<IssuedSession> {
    await this.rateLimits.consume('loginPerIp', input.seen.ip);
    const userId = await loginTokens.takeLoginToken(this.db, hashToken(input.token), Date.now());
    if (!userId) throw errors.forbidden('Invalid or expired login token.');
    const row = await users.getUser(this.db, userId);
    if (!row || row.deactivated) throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated.');
    return this.startSession(userId, input, 'token');
  }

  deleteExpiredTokens(): Promise<number> {
    return loginTokens.deleteExpiredLoginTokens(this.db, Date.now());
  }

  private startSession(userId: string, input: Pick<PasswordLoginInput, 'deviceId' | 'displayName' | 'withRefreshToken' | 'seen'>, method: string): Promise<IssuedSession> {
    return this.db.transaction(async (trx) => {
      const session = await this.sessions.createSession(trx, userId, {
        deviceId: input.deviceId, displayName: input.displayName, withRefreshToken: input.withRefreshToken, seen: input.seen,
      });
      await this.audit.record(trx, userId, 'login', { ...input.seen, deviceId: session.device_id }, { method });
      return session;
    });
  }
}
