/**
 * Signing in and out: the server URL the user chose (remembered), registration through the
 * server's user-interactive auth (invite code = registration token), password login, and the
 * saved session. Talks plain HTTP so it works before a MatrixClient exists.
 */
import { PasswordReset } from './passwordReset.ts';

/** The subset of the Web Storage API we use, so tests can pass an in-memory one. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface SavedSession {
  baseUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
}

export class AuthError extends Error {
  readonly errcode: string;
  readonly status: number;
  constructor(status: number, errcode: string, message: string) {
    super(message);
    this.status = status;
    this.errcode = errcode;
  }
}

/** The errcode of a login that needs the second factor. */
export const TOTP_REQUIRED = 'ORG.WHISPER.TOTP_REQUIRED';

const SERVER_KEY = 'whisper.serverUrl';
const SESSION_KEY = 'whisper.session';

/** `example.org` → `https://example.org`; trailing slashes dropped. */
export function normaliseServerUrl(input: string): string {
  let url = input.trim();
  if (!url) throw new AuthError(0, 'W_BAD_URL', 'Enter the server address');
  if (!/^https?:\/\//i.test(url)) url = `https://${url}`;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    throw new AuthError(0, 'W_BAD_URL', `"${input}" is not a server address`);
  }
}

/** One plain JSON request (no MatrixClient yet); network and non-JSON failures become AuthErrors. */
export async function call(baseUrl: string, method: string, path: string, body?: unknown, fetchImpl: typeof fetch = fetch): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetchImpl(baseUrl + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new AuthError(0, 'W_UNREACHABLE', `Cannot reach ${baseUrl}`);
  }
  const text = await res.text();
  let parsed: any = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    throw new AuthError(res.status, 'W_NOT_MATRIX', `${baseUrl} does not look like a Whisper server`);
  }
  return { status: res.status, body: parsed };
}

export function fail(res: { status: number; body: any }): never {
  throw new AuthError(res.status, res.body?.errcode ?? 'M_UNKNOWN', res.body?.error ?? `Request failed (${res.status})`);
}

export class SessionStore {
  private readonly store: KeyValueStore;
  private readonly fetchImpl: typeof fetch;
  /** The URL to offer when none was remembered: the origin that served the app. */
  private readonly defaultServer: string;

  constructor(store: KeyValueStore, defaultServer: string, fetchImpl: typeof fetch = (...a) => fetch(...a)) {
    this.store = store;
    this.defaultServer = defaultServer;
    this.fetchImpl = fetchImpl;
  }

  get serverUrl(): string {
    return this.store.getItem(SERVER_KEY) ?? this.defaultServer;
  }

  rememberServer(url: string): string {
    const normalised = normaliseServerUrl(url);
    this.store.setItem(SERVER_KEY, normalised);
    return normalised;
  }

  load(): SavedSession | undefined {
    const raw = this.store.getItem(SESSION_KEY);
    if (!raw) return undefined;
    try {
      const s = JSON.parse(raw) as SavedSession;
      return s.accessToken && s.userId && s.baseUrl && s.deviceId ? s : undefined;
    } catch {
      return undefined;
    }
  }

  private save(baseUrl: string, body: any): SavedSession {
    const session: SavedSession = { baseUrl, userId: body.user_id, accessToken: body.access_token, deviceId: body.device_id };
    this.store.setItem(SESSION_KEY, JSON.stringify(session));
    return session;
  }

  forget(): void {
    this.store.removeItem(SESSION_KEY);
  }

  /**
   * Password login. An account with 2FA answers ORG.WHISPER.TOTP_REQUIRED (AuthError errcode,
   * see TOTP_REQUIRED): ask for the authenticator or a recovery code and call again with it.
   */
  async login(server: string, username: string, password: string, deviceName = 'Whisper', totpCode?: string): Promise<SavedSession> {
    const baseUrl = this.rememberServer(server);
    const res = await call(baseUrl, 'POST', '/_matrix/client/v3/login', {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: username.trim() },
      password,
      initial_device_display_name: deviceName,
      ...(totpCode === undefined ? {} : { 'org.whisper.totp_code': totpCode.trim() }),
    }, this.fetchImpl);
    if (res.status !== 200) fail(res);
    return this.save(baseUrl, res.body);
  }

  /** What registration will ask for: whether an invite code is needed. */
  async registrationFlows(server: string): Promise<{ needsInviteCode: boolean; stages: string[] }> {
    const baseUrl = normaliseServerUrl(server);
    const res = await call(baseUrl, 'POST', '/_matrix/client/v3/register', {}, this.fetchImpl);
    if (res.status !== 401) fail(res);
    const stages = pickFlow(res.body.flows);
    return { needsInviteCode: stages.includes('m.login.registration_token'), stages };
  }

  /**
   * Registers through the server's user-interactive auth: the flow it offers, completed stage
   * by stage (registration token with the invite code, dummy), then signs in.
   */
  async register(server: string, username: string, password: string, inviteCode?: string, deviceName = 'Whisper'): Promise<SavedSession> {
    const baseUrl = this.rememberServer(server);
    const base = { username: username.trim(), password, initial_device_display_name: deviceName };
    let res = await call(baseUrl, 'POST', '/_matrix/client/v3/register', base, this.fetchImpl);
    for (let round = 0; res.status === 401 && round < 5; round++) {
      const stages = pickFlow(res.body.flows);
      const done: string[] = res.body.completed ?? [];
      const next = stages.find((s) => !done.includes(s));
      if (!next) fail(res);
      if (res.body.errcode) fail(res);
      const auth: Record<string, unknown> = { type: next, session: res.body.session };
      if (next === 'm.login.registration_token') {
        if (!inviteCode?.trim()) throw new AuthError(401, 'W_NEED_INVITE', 'This server needs an invite code');
        auth.token = inviteCode.trim();
      } else if (next !== 'm.login.dummy') {
        throw new AuthError(401, 'W_UNSUPPORTED_STAGE', `This server asks for ${next}, which Whisper cannot do yet`);
      }
      res = await call(baseUrl, 'POST', '/_matrix/client/v3/register', { ...base, auth }, this.fetchImpl);
    }
    if (res.status !== 200) fail(res);
    return this.save(baseUrl, res.body);
  }

  /** The forgotten-password flow for this browser (its pending request is kept in the same store). */
  passwordReset(): PasswordReset {
    return new PasswordReset(this.store, this.fetchImpl);
  }

  async logout(session: SavedSession): Promise<void> {
    try {
      await this.fetchImpl(`${session.baseUrl}/_matrix/client/v3/logout`, {
        method: 'POST', headers: { Authorization: `Bearer ${session.accessToken}`, 'Content-Type': 'application/json' }, body: '{}',
      });
    } catch {
      // Signed out locally either way; the server expires the token by itself.
    }
    this.forget();
  }
}

/** The flow we can complete: only stages we know, the shortest first. */
function pickFlow(flows: { stages: string[] }[] | undefined): string[] {
  const known = new Set(['m.login.dummy', 'm.login.registration_token']);
  const usable = (flows ?? []).filter((f) => f.stages.every((s) => known.has(s)));
  usable.sort((a, b) => a.stages.length - b.stages.length);
  if (!usable.length) throw new AuthError(401, 'W_UNSUPPORTED_STAGE', 'This server asks for a registration step Whisper cannot do yet');
  return usable[0].stages;
}
