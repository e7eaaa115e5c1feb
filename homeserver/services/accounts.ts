/** Accounts: registration under the server's policy, passwords, deactivation, admin acts. */
import { randomInt } from 'node:crypto';
import type { Config } from '../config.ts';
import { errors, MatrixError } from '../errors.ts';
import type { Db, Queryable } from '../storage/database.ts';
import * as registrationTokens from '../storage/registrationTokens.ts';
import * as users from '../storage/users.ts';
import type { PasswordHasher } from './passwords.ts';
import type { IssuedSession, Seen, SessionService } from './sessions.ts';
import { isUsable, type UiaService } from './uia.ts';
import type { UserIds } from './userIds.ts';
import { ADMIN_CLI, type AuditService, type AuditSource } from './audit.ts';

export type UserRow = users.UserRow;

export interface RegisterInput {
  username?: string;
  /** Absent on the first call, which only asks for the flows. */
  password?: string;
  deviceId?: string;
  displayName?: string;
  inhibitLogin: boolean;
  withRefreshToken: boolean;
  auth: unknown;
  seen: Seen;
}

const MAX_PASSWORD_LENGTH = 512;

export class AccountService {
  private readonly db: Db;
  private readonly config: Config;
  private readonly passwords: PasswordHasher;
  private readonly sessions: SessionService;
  private readonly uia: UiaService;
  private readonly userIds: UserIds;
  private readonly audit: AuditService;

  constructor(deps: { db: Db; config: Config; passwords: PasswordHasher; sessions: SessionService; uia: UiaService; userIds: UserIds; audit: AuditService }) {
    this.audit = deps.audit;
    this.db = deps.db;
    this.config = deps.config;
    this.passwords = deps.passwords;
    this.sessions = deps.sessions;
    this.uia = deps.uia;
    this.userIds = deps.userIds;
  }

  checkPasswordPolicy(password: string): void {
    if (password.length < this.config.passwordMinLength) {
      throw errors.weakPassword(`Passwords must be at least ${this.config.passwordMinLength} characters.`);
    }
    if (password.length > MAX_PASSWORD_LENGTH) {
      throw errors.weakPassword(`Passwords may be at most ${MAX_PASSWORD_LENGTH} characters.`);
    }
  }

  /** The stages registration asks for right now. */
  async registrationFlows(): Promise<string[][]> {
    switch (this.config.registration) {
      case 'closed':
        throw errors.forbidden('Registration is disabled on this server. Ask its admin for an account.');
      case 'open':
        return [['m.login.dummy']];
      case 'invite':
        return (await users.countUsers(this.db)) === 0 ? [['m.login.dummy']] : [['m.login.registration_token']];
    }
  }

  /** Spec: GET /register/available. Throws the reason when the name cannot be had. */
  async checkAvailable(username: string): Promise<void> {
    const localpart = username.toLowerCase();
    this.userIds.checkNewLocalpart(localpart);
    if (await users.getUser(this.db, this.userIds.make(localpart))) throw errors.userInUse();
  }

  async register(input: RegisterInput): Promise<{ user_id: string } & Partial<IssuedSession>> {
    const flows = await this.registrationFlows();
    // A client's first call often carries no credentials yet (Element asks for the flows
    // with an empty body): answer with the challenge before judging the fields.
    if (input.auth == null) await this.uia.authenticate({ purpose: 'register', auth: undefined, flows });
    if (input.password === undefined) throw errors.missingParam('Missing field: password');
    const localpart = input.username != null ? input.username.toLowerCase() : await this.freeLocalpart();
    await this.checkAvailable(localpart);
    this.checkPasswordPolicy(input.password);

    const done = await this.uia.authenticate({ purpose: 'register', auth: input.auth, flows });
    const passwordHash = await this.passwords.hash(input.password);
    const userId = this.userIds.make(localpart);
    return this.db.transaction(async (trx) => {
      await users.lockUsersForRegistration(trx);
      const isFirst = (await users.countUsers(trx)) === 0;
      if (this.config.registration === 'invite' && !isFirst) {
        await this.consumeRegistrationToken(trx, done.sessionId, done.registrationToken);
      }
      if (await users.getUser(trx, userId)) throw errors.userInUse();
      await users.insertUser(trx, {
        user_id: userId, localpart, password_hash: passwordHash, is_admin: isFirst, deactivated: false,
        created_ts: Date.now(), displayname: localpart, avatar_url: null,
      });
      await this.uia.finish(done.sessionId, trx);
      const details = { admin: isFirst, ...(done.registrationToken ? { registration_token: done.registrationToken.slice(0, 4) + '…' } : {}) };
      if (input.inhibitLogin) {
        await this.audit.record(trx, userId, 'account.register', input.seen, details);
        return { user_id: userId };
      }
      const session = await this.sessions.createSession(trx, userId, {
        deviceId: input.deviceId, displayName: input.displayName, withRefreshToken: input.withRefreshToken, seen: input.seen,
      });
      await this.audit.record(trx, userId, 'account.register', { ...input.seen, deviceId: session.device_id }, details);
      return session;
    });
  }

  /** Counts the registration against its token, re-checked under a row lock so a
   * single-use token cannot carry two concurrent registrations. */
  private async consumeRegistrationToken(trx: Queryable, sessionId: string, token: string | null): Promise<void> {
    const row = token && (await registrationTokens.getRegistrationToken(trx, token, Date.now() - this.config.uiaSessionTtlMs, true));
    if (!row || !isUsable(row, true)) {
      // Someone registered first (the server was empty when this session began) or the
      // token ran out: ask for a (new) token.
      throw errors.authRequired(
        { flows: [{ stages: ['m.login.registration_token'] }], params: {}, session: sessionId, completed: [] },
        { errcode: 'M_FORBIDDEN', error: 'A valid registration token is required.' },
      );
    }
    await registrationTokens.incrementRegistrationTokenCompleted(trx, token!);
  }

  private async freeLocalpart(): Promise<string> {
    for (;;) {
      const candidate = `user${randomInt(10_000_000, 99_999_999)}`;
      if (!(await users.getUser(this.db, this.userIds.make(candidate)))) return candidate;
    }
  }

  async getUser(userId: string): Promise<UserRow | undefined> {
    return users.getUser(this.db, userId);
  }

  /**
   * Changes the password after UIA; other sessions end unless the user keeps them. A reset
   * (by email, or by an admin) is audited as such.
   */
  async changePassword(userId: string, keepDeviceId: string | null, newPassword: string, logoutDevices: boolean, source: AuditSource, how: 'change' | 'reset' = 'change'): Promise<void> {
    this.checkPasswordPolicy(newPassword);
    const hash = await this.passwords.hash(newPassword);
    await this.db.transaction(async (trx) => {
      await users.updateUser(trx, userId, { password_hash: hash });
      await this.audit.record(trx, userId, `password.${how}`, source, { signed_out_others: logoutDevices });
      if (logoutDevices) {
        if (keepDeviceId) await this.sessions.deleteOtherDevices(userId, keepDeviceId, trx);
        else await this.sessions.logoutAll(userId, trx);
      }
    });
  }

  /** Ends the account: no sign-in, no sessions, profile erased. The id is never reused. */
  async deactivate(userId: string, source: AuditSource): Promise<void> {
    await this.db.transaction(async (trx) => {
      const found = await users.updateUser(trx, userId, { deactivated: true, password_hash: null, displayname: null, avatar_url: null });
      if (!found) throw errors.notFound('No such user.');
      await this.audit.record(trx, userId, 'account.deactivate', source);
      await this.sessions.logoutAll(userId, trx);
    });
  }

  /** Admin: creates an account directly (no UIA, no token). */
  async createUser(localpartInput: string, password: string, isAdmin: boolean): Promise<string> {
    const localpart = localpartInput.startsWith('@') ? localpartInput.slice(1).split(':')[0] : localpartInput;
    await this.checkAvailable(localpart);
    this.checkPasswordPolicy(password);
    const userId = this.userIds.make(localpart.toLowerCase());
    const passwordHash = await this.passwords.hash(password);
    await this.db.transaction(async (trx) => {
      await users.insertUser(trx, {
        user_id: userId, localpart: localpart.toLowerCase(), password_hash: passwordHash,
        is_admin: isAdmin, deactivated: false, created_ts: Date.now(), displayname: localpart.toLowerCase(), avatar_url: null,
      });
      await this.audit.record(trx, userId, 'admin.user_create', ADMIN_CLI, { admin: isAdmin });
    });
    return userId;
  }

  listUsers(): Promise<UserRow[]> {
    return users.listUsers(this.db);
  }

  /** Admin: sets a new password and signs every session out. */
  async resetPassword(userId: string, newPassword: string): Promise<void> {
    await this.requireUser(userId);
    await this.changePassword(userId, null, newPassword, true, ADMIN_CLI, 'reset');
  }

  async setAdmin(userId: string, isAdmin: boolean): Promise<void> {
    await this.requireUser(userId);
    await this.db.transaction(async (trx) => {
      await users.updateUser(trx, userId, { is_admin: isAdmin });
      await this.audit.record(trx, userId, isAdmin ? 'admin.make_admin' : 'admin.revoke_admin', ADMIN_CLI);
      await this.sessions.sessionsChanged(trx, userId);
    });
  }

  private async requireUser(userId: string): Promise<UserRow> {
    const user = await users.getUser(this.db, userId);
    if (!user) throw errors.notFound(`No such user ${userId}.`);
    if (user.deactivated) throw new MatrixError(400, 'M_USER_DEACTIVATED', `${userId} is deactivated.`);
    return user;
  }
}
