/** Registration tokens: invite codes a friend uses to create an account. */
import type { Config } from '../config.ts';
import { errors } from '../errors.ts';
import type { Db } from '../storage/database.ts';
import * as store from '../storage/registrationTokens.ts';
import { randomRegistrationToken } from './secrets.ts';
import { isUsable } from './uia.ts';
import { ADMIN_CLI, type AuditService } from './audit.ts';

export type RegistrationToken = store.RegistrationTokenWithPending;

const TOKEN_GRAMMAR = /^[A-Za-z0-9._~-]{1,64}$/;

export class RegistrationTokenService {
  private readonly db: Db;
  private readonly config: Config;
  private readonly audit: AuditService;

  constructor(db: Db, config: Config, audit: AuditService) {
    this.db = db;
    this.config = config;
    this.audit = audit;
  }

  private liveSince(): number {
    return Date.now() - this.config.uiaSessionTtlMs;
  }

  async create(opts: { token?: string; usesAllowed?: number | null; expiryTime?: number | null; createdBy?: string | null }): Promise<RegistrationToken> {
    const token = opts.token ?? randomRegistrationToken();
    if (!TOKEN_GRAMMAR.test(token)) throw errors.invalidParam('Tokens are 1-64 characters of A-Z a-z 0-9 . _ ~ -');
    if (opts.usesAllowed != null && (!Number.isInteger(opts.usesAllowed) || opts.usesAllowed < 0)) {
      throw errors.invalidParam('uses_allowed must be a non-negative integer.');
    }
    if (await store.getRegistrationToken(this.db, token, this.liveSince())) {
      throw errors.invalidParam('That token already exists.');
    }
    await this.db.transaction(async (trx) => {
      await store.insertRegistrationToken(trx, {
        token,
        uses_allowed: opts.usesAllowed ?? null,
        expiry_time: opts.expiryTime ?? null,
        created_ts: Date.now(),
        created_by: opts.createdBy ?? null,
      });
      // The token itself is a secret: the log keeps enough of it to tell tokens apart.
      await this.audit.record(trx, null, 'admin.token_create', ADMIN_CLI, { token: `${token.slice(0, 4)}…`, uses_allowed: opts.usesAllowed ?? null });
    });
    return (await store.getRegistrationToken(this.db, token, this.liveSince()))!;
  }

  list(): Promise<RegistrationToken[]> {
    return store.listRegistrationTokens(this.db, this.liveSince());
  }

  async revoke(token: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      if (!(await store.revokeRegistrationToken(trx, token))) throw errors.notFound('No such registration token.');
      await this.audit.record(trx, null, 'admin.token_revoke', ADMIN_CLI, { token: `${token.slice(0, 4)}…` });
    });
  }

  /** Spec: GET /register/m.login.registration_token/validity. */
  async isValid(token: string): Promise<boolean> {
    const row = await store.getRegistrationToken(this.db, token, this.liveSince());
    return row !== undefined && isUsable(row, false);
  }

  isActive(row: RegistrationToken): boolean {
    return isUsable(row, false);
  }
}
