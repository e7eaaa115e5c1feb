/**
 * The account's security: password, two-factor auth (enrol, confirm, recovery codes, disable),
 * email addresses, and the audit log with its exports. Every sensitive act goes through
 * `withUia`, so the password and (when 2FA is on) the authenticator code are asked the same way.
 */
import { ClientPrefix, Method, type MatrixClient } from 'matrix-js-sdk';
import { withUia, type UiaAuth, type UiaPrompt } from './uia.ts';
import { WHISPER_PREFIX, whisperRequest } from './whisperApi.ts';

export interface TwoFactorStatus {
  enabled: boolean;
  pending: boolean;
  recovery_codes_left: number;
}

export interface Enrolment {
  secret: string;
  otpauth_uri: string;
}

export interface AuditEntry {
  id: string;
  ts: number;
  kind: string;
  user_id: string | null;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  device_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_batch?: string;
}

export interface PendingEmail {
  address: string;
  sid: string;
  clientSecret: string;
}

function randomSecret(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class SecurityState {
  private readonly client: MatrixClient;
  private readonly userId: string;
  private readonly prompt: () => UiaPrompt;

  /** `prompt` is read at each act, so the views can install theirs after construction. */
  constructor(client: MatrixClient, userId: string, prompt: () => UiaPrompt) {
    this.client = client;
    this.userId = userId;
    this.prompt = prompt;
  }

  /** Runs a sensitive act through user-interactive auth. */
  uia<T>(act: (auth?: UiaAuth) => Promise<T>): Promise<T> {
    return withUia(this.userId, act, this.prompt());
  }

  // ---- password ------------------------------------------------------------------------

  async changePassword(newPassword: string, signOutOthers = false): Promise<void> {
    await this.uia((auth) => this.client.http.authedRequest(Method.Post, '/account/password', undefined,
      { new_password: newPassword, logout_devices: signOutOthers, ...(auth ? { auth } : {}) }, { prefix: ClientPrefix.V3 }));
  }

  // ---- two-factor ----------------------------------------------------------------------

  twoFactor(): Promise<TwoFactorStatus> {
    return whisperRequest<TwoFactorStatus>(this.client, Method.Get, '/2fa');
  }

  /** Starts enrolment: the secret and its otpauth:// URI (for the QR code). Off until confirmed. */
  enrolTotp(): Promise<Enrolment> {
    return this.uia((auth) => whisperRequest<Enrolment>(this.client, Method.Post, '/2fa/totp', auth ? { auth } : {}));
  }

  /** Turns 2FA on with a first code; resolves with the ten recovery codes (shown once). */
  async confirmTotp(code: string): Promise<string[]> {
    const res = await whisperRequest<{ recovery_codes: string[] }>(this.client, Method.Post, '/2fa/totp/confirm', { code: code.trim() });
    return res.recovery_codes;
  }

  async regenerateRecoveryCodes(): Promise<string[]> {
    const res = await this.uia((auth) => whisperRequest<{ recovery_codes: string[] }>(this.client, Method.Post, '/2fa/recovery_codes', auth ? { auth } : {}));
    return res.recovery_codes;
  }

  async disableTotp(): Promise<void> {
    await this.uia((auth) => whisperRequest(this.client, Method.Post, '/2fa/disable', auth ? { auth } : {}));
  }

  // ---- email ---------------------------------------------------------------------------

  async emails(): Promise<string[]> {
    const { threepids } = await this.client.getThreePids();
    return threepids.filter((t) => t.medium === 'email').map((t) => t.address);
  }

  /** Mails a confirmation link to `address`; finish with addEmail once it was opened. */
  async requestEmail(address: string): Promise<PendingEmail> {
    const clientSecret = randomSecret();
    const { sid } = await this.client.requestAdd3pidEmailToken(address.trim(), clientSecret, 1);
    return { address: address.trim(), sid, clientSecret };
  }

  async addEmail(pending: PendingEmail): Promise<void> {
    await this.uia((auth) => this.client.addThreePidOnly({ sid: pending.sid, client_secret: pending.clientSecret, ...(auth ? { auth } : {}) } as any));
  }

  async removeEmail(address: string): Promise<void> {
    await this.client.deleteThreePid('email', address);
  }

  // ---- audit log -----------------------------------------------------------------------

  /** A page of the user's own audit log, newest first; `kinds` filters (comma-joined by the server). */
  audit(opts: { kinds?: string[]; from?: string; limit?: number; fromTs?: number; toTs?: number } = {}): Promise<AuditPage> {
    const q: Record<string, string> = { limit: String(opts.limit ?? 50) };
    if (opts.kinds?.length) q.kind = opts.kinds.join(',');
    if (opts.from) q.from = opts.from;
    if (opts.fromTs !== undefined) q.from_ts = String(opts.fromTs);
    if (opts.toTs !== undefined) q.to_ts = String(opts.toTs);
    return whisperRequest<AuditPage>(this.client, Method.Get, '/audit', undefined, q);
  }

  /** The whole log as a file (fetched with the access token, so it cannot be a plain link). */
  async exportAudit(format: 'json' | 'csv', kinds?: string[]): Promise<{ blob: Blob; filename: string }> {
    const url = new URL(`${this.client.baseUrl}${WHISPER_PREFIX}/audit/export`);
    url.searchParams.set('format', format);
    if (kinds?.length) url.searchParams.set('kind', kinds.join(','));
    const res = await fetch(url, { headers: { Authorization: `Bearer ${this.client.getAccessToken()}` } });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new Error(body.error ?? `Export failed (${res.status})`);
    }
    const blob = await res.blob();
    return { blob, filename: `whisper-audit-${new Date().toISOString().slice(0, 10)}.${format}` };
  }
}
