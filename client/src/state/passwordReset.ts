/**
 * "Forgot password?": the server mails a link to the account's address
 * (`/account/password/email/requestToken`); once the link was opened, the new password is set
 * signed out, through user-interactive auth `m.login.email.identity` (plus the second factor
 * when the account has one), and every session of the account is signed out.
 *
 * The request in progress is kept in the store, so a reload (or opening the mail's link in
 * the app's own tab) does not lose it; it lasts as long as the server's link does.
 */
import { AuthError, call, fail, normaliseServerUrl, type KeyValueStore } from './session.ts';

export interface PendingReset {
  baseUrl: string;
  email: string;
  clientSecret: string;
  sid: string;
  sendAttempt: number;
  requestedAt: number;
}

/** The link in the mail is good for an hour (homeserver/services/email.ts). */
const LINK_LIFETIME_MS = 60 * 60 * 1000;
const PENDING_KEY = 'whisper.passwordReset';
const TOTP_STAGE = 'org.whisper.totp';
const EMAIL_STAGE = 'm.login.email.identity';

/** The errcode of a reset that needs the authenticator (or a recovery) code to finish. */
export const RESET_NEEDS_TOTP = 'W_NEED_TOTP';
/** The errcode of a reset tried before the mail's link was opened. */
export const RESET_LINK_NOT_OPENED = 'W_LINK_NOT_OPENED';

function randomSecret(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** "in 40 seconds", "in about 12 minutes": how long a rate limit lasts, for people. */
export function waitText(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 90) return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
  return `in about ${Math.ceil(seconds / 60)} minutes`;
}

/** The server's refusals of a mail request, said so the user knows what to do next. */
function requestFailed(res: { status: number; body: any }): never {
  const errcode = res.body?.errcode;
  if (res.status === 429 || errcode === 'M_LIMIT_EXCEEDED') {
    const wait = typeof res.body?.retry_after_ms === 'number' ? waitText(res.body.retry_after_ms) : 'later';
    throw new AuthError(429, 'M_LIMIT_EXCEEDED', `Too many reset emails were asked for. Try again ${wait}.`);
  }
  if (errcode === 'M_THREEPID_NOT_FOUND') throw new AuthError(res.status, errcode, 'No account on this server has that email address.');
  if (errcode === 'M_THREEPID_MEDIUM_NOT_SUPPORTED') {
    throw new AuthError(res.status, errcode, 'This server does not send email, so it cannot reset passwords this way. Ask its admin to reset yours.');
  }
  fail(res);
}

export class PasswordReset {
  private readonly store: KeyValueStore;
  private readonly fetchImpl: typeof fetch;

  constructor(store: KeyValueStore, fetchImpl: typeof fetch = (...a) => fetch(...a)) {
    this.store = store;
    this.fetchImpl = fetchImpl;
  }

  /** The request waiting for its link, if one was made within the link's lifetime. */
  pending(now = Date.now()): PendingReset | undefined {
    const raw = this.store.getItem(PENDING_KEY);
    if (!raw) return undefined;
    try {
      const p = JSON.parse(raw) as PendingReset;
      if (p.sid && p.clientSecret && p.baseUrl && p.email && now - p.requestedAt < LINK_LIFETIME_MS) return p;
    } catch {
      // A damaged entry is as good as none.
    }
    this.cancel();
    return undefined;
  }

  cancel(): void {
    this.store.removeItem(PENDING_KEY);
  }

  /** Asks the server to mail a reset link to `email`. */
  async request(server: string, email: string): Promise<PendingReset> {
    const address = email.trim();
    if (!address.includes('@')) throw new AuthError(0, 'W_BAD_EMAIL', 'Enter the email address of your account');
    return this.send({ baseUrl: normaliseServerUrl(server), email: address, clientSecret: randomSecret(), sid: '', sendAttempt: 1, requestedAt: Date.now() });
  }

  /** Mails the link again (the same request, its next attempt: the server sends a new link). */
  async resend(): Promise<PendingReset> {
    const p = this.pending();
    if (!p) throw new AuthError(0, 'W_NO_RESET', 'The reset request expired: ask for a new email.');
    return this.send({ ...p, sendAttempt: p.sendAttempt + 1, requestedAt: Date.now() });
  }

  private async send(p: PendingReset): Promise<PendingReset> {
    const res = await call(p.baseUrl, 'POST', '/_matrix/client/v3/account/password/email/requestToken', {
      client_secret: p.clientSecret, email: p.email, send_attempt: p.sendAttempt,
    }, this.fetchImpl);
    if (res.status !== 200) requestFailed(res);
    const saved = { ...p, sid: res.body.sid as string };
    this.store.setItem(PENDING_KEY, JSON.stringify(saved));
    return saved;
  }

  /**
   * Sets the new password once the mail's link was opened; every session is signed out.
   * Throws AuthError RESET_LINK_NOT_OPENED before the link was opened, RESET_NEEDS_TOTP when
   * the account has two-factor auth and no `totpCode` was given (call again with it).
   */
  async finish(newPassword: string, totpCode?: string): Promise<void> {
    const p = this.pending();
    if (!p) throw new AuthError(0, 'W_NO_RESET', 'The reset request expired: ask for a new email.');
    const post = (auth?: Record<string, unknown>) => call(p.baseUrl, 'POST', '/_matrix/client/v3/account/password', {
      new_password: newPassword, logout_devices: true, ...(auth ? { auth } : {}),
    }, this.fetchImpl);
    // Each attempt starts a fresh UIA session: the opened link stays good until the reset is done.
    let res = await post();
    if (res.status === 401 && res.body?.session) {
      const creds = { sid: p.sid, client_secret: p.clientSecret };
      res = await post({ type: EMAIL_STAGE, threepid_creds: creds, session: res.body.session });
      if (res.status === 401 && res.body?.errcode === 'M_UNAUTHORIZED') {
        throw new AuthError(401, RESET_LINK_NOT_OPENED, `Open the link in the email sent to ${p.email} first, then set the password here.`);
      }
      const asksCode = res.status === 401 && (res.body?.flows ?? []).some((f: { stages: string[] }) => f.stages.includes(TOTP_STAGE));
      if (asksCode && !totpCode?.trim()) throw new AuthError(401, RESET_NEEDS_TOTP, 'Enter a code from your authenticator app, or a recovery code.');
      if (asksCode) res = await post({ type: TOTP_STAGE, code: totpCode!.trim(), session: res.body.session });
    }
    if (res.status !== 200) fail(res);
    this.cancel();
  }
}
