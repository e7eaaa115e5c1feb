/** Password login: who the client names, whether the password fits, and the new session. */
import { errors, MatrixError } from '../errors.ts';
import type { Db } from '../storage/database.ts';
import * as users from '../storage/users.ts';
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
    await this.rateLimits.consume('loginPerIp', input.seen.ip);
    const userId = this.userIds.resolve(input.user);
    const invalid = () => errors.forbidden('Invalid username or password.');
    const failed = async (accountId: string | null, reason: string) => {
      // No act to share a transaction with: the failure is the entry.
      await this.audit.record(this.db, accountId, 'login.failed', input.seen, accountId ? { reason } : { reason, user: input.user.slice(0, 255) });
      return invalid();
    };
    if (!userId) {
      await this.passwords.verify(null, input.password);
      throw await failed(null, 'unknown user');
    }
    await this.rateLimits.consume('loginPerAccount', userId);
    const user = await users.getUser(this.db, userId);
    // Same work whether or not the account exists, so timing does not tell.
    const ok = await this.passwords.verify(user?.password_hash ?? null, input.password);
    if (!user) throw await failed(null, 'unknown user');
    if (!ok) throw await failed(userId, 'wrong password');
    if (user.deactivated) {
      await failed(userId, 'deactivated');
      throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated.');
    }
    if (await this.twoFactor.isEnabled(userId)) {
      if (input.totpCode === undefined) {
        // Not a failure: the password was right, and the client now asks for the code.
        throw new MatrixError(403, TOTP_REQUIRED, 'This account uses two-factor authentication: enter the code from your authenticator app. ' +
          'Apps that cannot ask for it sign in through this server\'s login page (single sign-on).');
      }
      if (!(await this.twoFactor.check(userId, input.totpCode, input.seen))) throw await failed(userId, 'second factor');
    }
    return this.db.transaction(async (trx) => {
      const session = await this.sessions.createSession(trx, userId, {
        deviceId: input.deviceId, displayName: input.displayName, withRefreshToken: input.withRefreshToken, seen: input.seen,
      });
      await this.audit.record(trx, userId, 'login', { ...input.seen, deviceId: session.device_id }, { method: 'password' });
      return session;
    });
  }
}
