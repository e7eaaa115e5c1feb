/** Password login: who the client names, whether the password fits, and the new session. */
import { errors, MatrixError } from '../errors.ts';
import type { Db } from '../storage/database.ts';
import * as users from '../storage/users.ts';
import type { PasswordHasher } from './passwords.ts';
import type { RateLimits } from './rateLimits.ts';
import type { IssuedSession, Seen, SessionService } from './sessions.ts';
import type { UserIds } from './userIds.ts';

export interface PasswordLoginInput {
  /** What the client typed: a localpart or a full user id. */
  user: string;
  password: string;
  deviceId?: string;
  displayName?: string;
  withRefreshToken: boolean;
  seen: Seen;
}

export class LoginService {
  private readonly db: Db;
  private readonly passwords: PasswordHasher;
  private readonly rateLimits: RateLimits;
  private readonly sessions: SessionService;
  private readonly userIds: UserIds;

  constructor(deps: { db: Db; passwords: PasswordHasher; rateLimits: RateLimits; sessions: SessionService; userIds: UserIds }) {
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
    if (!userId) {
      await this.passwords.verify(null, input.password);
      throw invalid();
    }
    await this.rateLimits.consume('loginPerAccount', userId);
    const user = await users.getUser(this.db, userId);
    // Same work whether or not the account exists, so timing does not tell.
    const ok = await this.passwords.verify(user?.password_hash ?? null, input.password);
    if (!user || !ok) throw invalid();
    if (user.deactivated) throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated.');
    return this.db.transaction((trx) =>
      this.sessions.createSession(trx, userId, {
        deviceId: input.deviceId, displayName: input.displayName, withRefreshToken: input.withRefreshToken, seen: input.seen,
      }),
    );
  }
}
