/**
 * User-interactive authentication (spec: "User-Interactive Authentication API"): a request
 * that needs proof answers 401 with the flows; the client completes stages, one request each,
 * carrying the session id, until one flow is complete.
 */
import { z } from 'zod';
import type { Config } from '../config.ts';
import { errors, MatrixError } from '../errors.ts';
import type { Db, Queryable } from '../storage/database.ts';
import * as uiaSessions from '../storage/uiaSessions.ts';
import * as registrationTokens from '../storage/registrationTokens.ts';
import * as users from '../storage/users.ts';
import type { PasswordHasher } from './passwords.ts';
import type { RateLimits } from './rateLimits.ts';
import { randomToken } from './secrets.ts';
import type { UserIds } from './userIds.ts';
import type { AuditSource } from './audit.ts';
import type { TwoFactorService } from './twoFactor.ts';
import type { EmailService } from './email.ts';

export type UiaPurpose = 'register' | 'change_password' | 'reset_password' | 'delete_devices' | 'deactivate' | 'cross_signing' | 'two_factor' | 'add_threepid';

/** The stage a user with two-factor authentication completes on every sensitive act. */
export const TOTP_STAGE = 'org.whisper.totp';

export interface UiaRequest {
  purpose: UiaPurpose;
  /** The signed-in user the act is for; absent for registration. */
  userId?: string;
  /** The body's `auth` field, unvalidated. */
  auth: unknown;
  flows: string[][];
  /** Where the request came from, for the audit entry of a second-factor check. */
  source?: AuditSource;
}

export interface UiaCompleted {
  sessionId: string;
  registrationToken: string | null;
  /** The account the proof was for (for a password reset: the one the email stage found). */
  userId: string | null;
}

const authSchema = z.object({
  type: z.string().optional(),
  session: z.string().max(255).optional(),
  identifier: z.object({ type: z.string(), user: z.string().max(255).optional() }).loose().optional(),
  user: z.string().max(255).optional(),
  password: z.string().max(1024).optional(),
  token: z.string().max(255).optional(),
  code: z.string().max(64).optional(),
  threepid_creds: z.object({ sid: z.string().max(255), client_secret: z.string().max(255) }).loose().optional(),
  threepidCreds: z.object({ sid: z.string().max(255), client_secret: z.string().max(255) }).loose().optional(),
}).loose();

export class UiaService {
  private readonly db: Db;
  private readonly config: Config;
  private readonly passwords: PasswordHasher;
  private readonly rateLimits: RateLimits;
  private readonly userIds: UserIds;
  private readonly twoFactor: TwoFactorService;
  private readonly emails: EmailService;

  constructor(deps: { db: Db; config: Config; passwords: PasswordHasher; rateLimits: RateLimits; userIds: UserIds; twoFactor: TwoFactorService; emails: EmailService }) {
    this.twoFactor = deps.twoFactor;
    this.emails = deps.emails;
    this.db = deps.db;
    this.config = deps.config;
    this.passwords = deps.passwords;
    this.rateLimits = deps.rateLimits;
    this.userIds = deps.userIds;
  }

  private liveSince(): number {
    return Date.now() - this.config.uiaSessionTtlMs;
  }

  /** Returns once a flow is complete; otherwise throws the 401 that tells the client what next. */
  async authenticate(request: UiaRequest): Promise<UiaCompleted> {
    const parsed = authSchema.safeParse(request.auth ?? {});
    if (!parsed.success || (request.auth != null && (typeof request.auth !== 'object' || Array.isArray(request.auth)))) {
      throw errors.badJson('auth must be an object.');
    }
    const auth = parsed.data;

    let session = auth.session ? await uiaSessions.getUiaSession(this.db, auth.session) : undefined;
    if (auth.session && (!session || session.created_ts < this.liveSince())) {
      throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired auth session.');
    }
    // A password reset learns whose account it is from its email stage, not from a token.
    const learnsUser = request.purpose === 'reset_password';
    if (session && (session.purpose !== request.purpose || (!learnsUser && session.user_id !== (request.userId ?? null)))) {
      throw errors.forbidden('This auth session was started for a different request.');
    }
    if (!session) {
      session = {
        session_id: randomToken('uia', 18), purpose: request.purpose, user_id: request.userId ?? null,
        completed: [], registration_token: null, created_ts: Date.now(),
      };
      await uiaSessions.insertUiaSession(this.db, session);
    }
    let req = await this.forSubject(request, session.user_id ?? undefined);
    const challenge = (completed: string[]) => ({
      flows: req.flows.map((stages) => ({ stages })),
      params: {},
      session: session!.session_id,
      completed,
    });

    if (!auth.type) throw errors.authRequired(challenge(session.completed));
    if (!req.flows.some((flow) => flow.includes(auth.type!))) {
      throw errors.authRequired(challenge(session.completed), {
        errcode: 'M_UNRECOGNIZED', error: `Auth type ${auth.type} is not offered here.`,
      });
    }

    const failure = await this.runStage(auth, session, req);
    if (failure) throw errors.authRequired(challenge(session.completed), failure);
    // The email stage may just have named the account: its second factor is now due too.
    if (session.user_id && req.userId !== session.user_id) req = await this.forSubject(request, session.user_id);

    const completed = [...new Set([...session.completed, auth.type])];
    await uiaSessions.updateUiaSession(this.db, session.session_id, { completed });
    session.completed = completed;
    if (!req.flows.some((flow) => flow.every((stage) => completed.includes(stage)))) {
      throw errors.authRequired(challenge(completed));
    }
    return { sessionId: session.session_id, registrationToken: session.registration_token, userId: session.user_id };
  }

  /** The request as it applies to its account: a user with two-factor authentication proves
   * it on every sensitive act, so each flow gains that stage. */
  private async forSubject(request: UiaRequest, sessionUser: string | undefined): Promise<UiaRequest> {
    const userId = request.userId ?? sessionUser;
    if (!userId || request.purpose === 'register') return { ...request, userId };
    if (!(await this.twoFactor.isEnabled(userId))) return { ...request, userId };
    return { ...request, userId, flows: request.flows.map((flow) => [...flow, TOTP_STAGE]) };
  }

  /** Ends a session whose act has been carried out, in the act's own transaction. */
  async finish(sessionId: string, q: Queryable = this.db): Promise<void> {
    await uiaSessions.deleteUiaSession(q, sessionId);
  }

  async deleteExpired(): Promise<number> {
    return uiaSessions.deleteExpiredUiaSessions(this.db, this.liveSince());
  }

  private async runStage(
    auth: z.infer<typeof authSchema>,
    session: uiaSessions.UiaSessionRow,
    req: UiaRequest,
  ): Promise<{ errcode: string; error: string } | undefined> {
    switch (auth.type) {
      case 'm.login.dummy':
        return undefined;
      case 'm.login.password': {
        const named = auth.identifier?.user ?? auth.user;
        const userId = named ? this.userIds.resolve(named) : req.userId;
        if (!req.userId || userId !== req.userId || auth.password === undefined) {
          return { errcode: 'M_FORBIDDEN', error: 'Invalid password.' };
        }
        await this.rateLimits.consume('passwordPerAccount', req.userId);
        const user = await users.getUser(this.db, req.userId);
        if (!user || !(await this.passwords.verify(user.password_hash, auth.password))) {
          return { errcode: 'M_FORBIDDEN', error: 'Invalid password.' };
        }
        return undefined;
      }
      case 'm.login.registration_token': {
        if (!auth.token) return { errcode: 'M_MISSING_PARAM', error: 'token is required.' };
        const valid = await this.db.transaction(async (trx) => {
          const row = await registrationTokens.getRegistrationToken(trx, auth.token!, this.liveSince(), true);
          if (!row || !isUsable(row, session.registration_token === row.token)) return false;
          await uiaSessions.updateUiaSession(trx, session.session_id, { registration_token: row.token });
          return true;
        });
        if (!valid) return { errcode: 'M_FORBIDDEN', error: 'Invalid registration token.' };
        session.registration_token = auth.token;
        return undefined;
      }
      case 'm.login.email.identity': {
        // Spec: threepid_creds (older clients: threepidCreds) of a validated reset session.
        const creds = auth.threepid_creds ?? auth.threepidCreds;
        if (!creds) return { errcode: 'M_MISSING_PARAM', error: 'threepid_creds is required.' };
        const owner = await this.emails.ownerProvenBy(creds.sid, creds.client_secret);
        if (!owner) return { errcode: 'M_UNAUTHORIZED', error: 'The email address has not been verified: open the link in the mail first.' };
        if (session.user_id && session.user_id !== owner) return { errcode: 'M_FORBIDDEN', error: 'That email address belongs to another account.' };
        if (!session.user_id) {
          await uiaSessions.updateUiaSession(this.db, session.session_id, { user_id: owner });
          session.user_id = owner;
        }
        return undefined;
      }
      case TOTP_STAGE: {
        if (!req.userId || !auth.code) return { errcode: 'M_MISSING_PARAM', error: 'code is required: a code from your authenticator app or a recovery code.' };
        if (!(await this.twoFactor.check(req.userId, auth.code, req.source ?? {}))) return { errcode: 'M_FORBIDDEN', error: 'Invalid two-factor code.' };
        return undefined;
      }
      default:
        return { errcode: 'M_UNRECOGNIZED', error: `Unknown auth type ${auth.type}.` };
    }
  }
}

/** Whether a token may carry one more registration. `heldByCaller`: the caller's own session
 * is already counted among the pending ones. */
export function isUsable(row: registrationTokens.RegistrationTokenWithPending, heldByCaller: boolean): boolean {
  if (row.revoked) return false;
  if (row.expiry_time != null && row.expiry_time <= Date.now()) return false;
  if (row.uses_allowed == null) return true;
  const others = row.pending - (heldByCaller ? 1 : 0);
  return row.completed + others < row.uses_allowed;
}
