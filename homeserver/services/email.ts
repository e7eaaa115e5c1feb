/**
 * Email addresses on accounts (spec: 3PID management with the homeserver itself sending the
 * mail, as Synapse does without an identity server). A validation session proves the user
 * reads an address: the mail carries a link to a page of this server, and the client then
 * completes its act (adding the address, or a password reset through UIA
 * `m.login.email.identity`).
 */
import escapeHtml from 'escape-html';
import type { Config } from '../config.ts';
import { MatrixError } from '../errors.ts';
import type { Db } from '../storage/database.ts';
import * as store from '../storage/threepids.ts';
import type { AuditService, AuditSource } from './audit.ts';
import { mailDisabled, type Mailer } from './mailer.ts';
import type { RateLimits } from './rateLimits.ts';
import { hashToken, randomToken } from './secrets.ts';

export type EmailPurpose = store.ThreepidSessionRow['purpose'];

export interface TokenRequest {
  email: string;
  clientSecret: string;
  sendAttempt: number;
}

/** A link in a mail is good this long (Synapse: one hour). */
const SESSION_TTL_MS = 60 * 60 * 1000;
export const VALIDATE_PAGE_PATH = '/_whisper/email/validate';

export class EmailService {
  private readonly db: Db;
  private readonly config: Config;
  private readonly mailer: Mailer;
  private readonly rateLimits: RateLimits;
  private readonly audit: AuditService;

  constructor(deps: { db: Db; config: Config; mailer: Mailer; rateLimits: RateLimits; audit: AuditService }) {
    this.db = deps.db;
    this.config = deps.config;
    this.mailer = deps.mailer;
    this.rateLimits = deps.rateLimits;
    this.audit = deps.audit;
  }

  /** Spec: POST /account/3pid/email/requestToken and /account/password/email/requestToken. */
  async requestToken(purpose: EmailPurpose, req: TokenRequest, ip: string): Promise<{ sid: string }> {
    if (!this.mailer.enabled) throw mailDisabled();
    const address = req.email.trim().toLowerCase();
    const owner = await store.ownerOf(this.db, 'email', address);
    if (purpose === 'add' && owner) throw new MatrixError(400, 'M_THREEPID_IN_USE', 'That email address is already in use.');
    if (purpose === 'reset' && !owner) throw new MatrixError(400, 'M_THREEPID_NOT_FOUND', 'No account has that email address.');
    const existing = await store.findSession(this.db, req.clientSecret, address, purpose);
    // Spec: the same client secret and attempt number is a retry: no second mail.
    if (existing && existing.send_attempt >= req.sendAttempt) return { sid: existing.sid };
    await this.rateLimits.consume('mailPerIp', ip);
    await this.rateLimits.consume('mailPerAddress', address);
    const token = randomToken('wse', 24);
    const sid = existing?.sid ?? randomToken('sid', 12);
    await store.upsertSession(this.db, {
      sid, client_secret: req.clientSecret, medium: 'email', address, purpose,
      token_hash: hashToken(token), send_attempt: req.sendAttempt, created_ts: Date.now(), validated_ts: null,
    });
    const link = new URL(VALIDATE_PAGE_PATH, `${this.config.publicUrl}/`);
    link.search = new URLSearchParams({ sid, client_secret: req.clientSecret, token }).toString();
    await this.mailer.send(purpose === 'add' ? this.verifyMail(address, link) : this.resetMail(address, link));
    return { sid };
  }

  /** The mail's link: marks the session validated; false when the link is wrong or stale. */
  async validate(sid: string, clientSecret: string, token: string): Promise<EmailPurpose | undefined> {
    const row = await store.getSession(this.db, sid);
    if (!row || row.client_secret !== clientSecret || row.token_hash !== hashToken(token)) return undefined;
    if (row.created_ts < Date.now() - SESSION_TTL_MS) return undefined;
    await store.markValidated(this.db, sid, Date.now());
    return row.purpose;
  }

  /** Spec: POST /account/3pid/add, after UIA. */
  async add(userId: string, sid: string, clientSecret: string, source: AuditSource): Promise<void> {
    const row = await this.validatedSession(sid, clientSecret, 'add');
    await this.db.transaction(async (trx) => {
      const now = Date.now();
      if (!(await store.bindThreepid(trx, { user_id: userId, medium: 'email', address: row.address, validated_ts: row.validated_ts!, added_ts: now }))) {
        throw new MatrixError(400, 'M_THREEPID_IN_USE', 'That email address is already in use.');
      }
      await store.deleteSession(trx, sid);
      await this.audit.record(trx, userId, 'email.add', source, { address: row.address });
    });
  }

  /** Spec: POST /account/3pid/delete. */
  async remove(userId: string, medium: string, address: string, source: AuditSource): Promise<void> {
    await this.db.transaction(async (trx) => {
      if (!(await store.unbindThreepid(trx, userId, medium, address.trim().toLowerCase()))) {
        throw new MatrixError(400, 'M_THREEPID_NOT_FOUND', 'That address is not on your account.');
      }
      await this.audit.record(trx, userId, 'email.remove', source, { address });
    });
  }

  async list(userId: string) {
    return (await store.threepidsOf(this.db, userId)).map((r) => ({ medium: r.medium, address: r.address, validated_at: r.validated_ts, added_at: r.added_ts }));
  }

  /** UIA m.login.email.identity: the account whose address a validated reset session proved. */
  async ownerProvenBy(sid: string, clientSecret: string): Promise<string | undefined> {
    const row = await store.getSession(this.db, sid);
    if (!row || row.client_secret !== clientSecret || row.validated_ts == null || row.purpose !== 'reset') return undefined;
    if (row.created_ts < Date.now() - SESSION_TTL_MS) return undefined;
    return store.ownerOf(this.db, row.medium, row.address);
  }

  /** After a reset: the mailed links that allowed it are spent. */
  async endResets(userId: string): Promise<void> {
    await store.deleteResetSessionsOf(this.db, userId);
  }

  async deleteExpired(): Promise<number> {
    return store.deleteSessionsBefore(this.db, Date.now() - SESSION_TTL_MS);
  }

  private async validatedSession(sid: string, clientSecret: string, purpose: EmailPurpose): Promise<store.ThreepidSessionRow> {
    const row = await store.getSession(this.db, sid);
    if (!row || row.client_secret !== clientSecret || row.purpose !== purpose || row.validated_ts == null) {
      throw new MatrixError(400, 'M_THREEPID_AUTH_FAILED', 'The email address has not been verified: open the link in the mail first.');
    }
    return row;
  }

  private verifyMail(to: string, link: URL) {
    const server = this.config.serverName;
    return {
      to,
      subject: `Confirm your email address for ${server}`,
      text: `Someone (hopefully you) asked to add this address to a Whisper account on ${server}.\n\nConfirm it by opening:\n${link.href}\n\nThen return to the app. If this was not you, ignore this mail.\n`,
      html: `<p>Someone (hopefully you) asked to add this address to a Whisper account on ${escapeHtml(server)}.</p>` +
        `<p><a href="${escapeHtml(link.href)}">Confirm this address</a>, then return to the app.</p><p>If this was not you, ignore this mail.</p>`,
    };
  }

  private resetMail(to: string, link: URL) {
    const server = this.config.serverName;
    return {
      to,
      subject: `Reset your password on ${server}`,
      text: `Someone (hopefully you) asked to reset the password of the Whisper account with this address on ${server}.\n\nOpen this link to allow it:\n${link.href}\n\nThen return to the app and choose a new password. Every signed-in device will be signed out. If this was not you, ignore this mail: your password stays as it is.\n`,
      html: `<p>Someone (hopefully you) asked to reset the password of the Whisper account with this address on ${escapeHtml(server)}.</p>` +
        `<p><a href="${escapeHtml(link.href)}">Allow the reset</a>, then return to the app and choose a new password. Every signed-in device will be signed out.</p>` +
        '<p>If this was not you, ignore this mail: your password stays as it is.</p>',
    };
  }
}
