/**
 * Replays, in order, the requests Element Web and nheko make when they start and in ordinary
 * use (discovery, login, crypto start-up, first sync, then sending, receipts, typing, profile,
 * keys, media, recovery set-up, log-out), on each backend. Every request must be answered
 * within 5 s — a hang is a failure — never with a 5xx, errors as JSON with an `errcode`, and
 * with what the entry expects: a 2xx, 404 M_NOT_FOUND (reads of things never set), 404/400
 * M_UNRECOGNIZED (what the server truly does not support), or a 401 UIA challenge.
 *
 * The list is spec-tests/fixtures/element-web-startup.json, recorded from the clients'
 * sources: matrix-js-sdk v43 (the SDK Element Web bundles), element-hq/element-web,
 * Nheko-Reborn/nheko and Nheko-Reborn/mtxclient; each entry names the file it came from.
 * Placeholders ({userId}, {roomId}, {eventId}, …) are filled from a per-client setup (a user,
 * a second user and a room they share) and from what earlier replies captured; signed key
 * material ({signedDeviceKeys}, {masterKey}, …) is made fresh with real ed25519 signatures.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../homeserver/services/rooms/eventFormat.ts';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

type Expect = 'ok' | 'not_found' | 'unrecognized' | 'uia';

interface Recorded {
  client: 'element-web' | 'nheko';
  phase: string;
  method: string;
  path: string;
  query?: Record<string, unknown>;
  body?: unknown;
  bodyBase64?: string;
  contentType?: string;
  auth: boolean;
  expect: Expect;
  /** Variables to take from the reply: name → field of the JSON body. */
  capture?: Record<string, string>;
  note?: string;
  source: string;
}

interface Reply {
  status: number;
  text: string;
  json: any;
}

type Vars = Record<string, unknown>;

const RECORDED: Recorded[] = JSON.parse(readFileSync(new URL('./fixtures/element-web-startup.json', import.meta.url), 'utf8'));
const CLIENTS = ['element-web', 'nheko'] as const;
const EXPECTS: Expect[] = ['ok', 'not_found', 'unrecognized', 'uia'];
const TIMEOUT_MS = 5000;
const V3 = '/_matrix/client/v3';

// --- Key material, signed as a real client signs it (spec appendix "Signing JSON") ---

const unpadded = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');
const randomB64 = (bytes: number) => unpadded(randomBytes(bytes));

function ed25519(): { publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: unpadded(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')), privateKey };
}

function curve25519(): string {
  const { publicKey } = generateKeyPairSync('x25519');
  return unpadded(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
}

function signJson<T extends Record<string, unknown>>(object: T, userId: string, keyId: string, privateKey: KeyObject): T {
  const { signatures, unsigned: _u, ...payload } = object as T & { signatures?: Record<string, Record<string, string>> };
  const sig = unpadded(sign(null, Buffer.from(canonicalJson(payload)), privateKey));
  return { ...object, signatures: { ...signatures, [userId]: { ...signatures?.[userId], [keyId]: sig } } };
}

/** One user's keys: a device key per device, the three cross-signing keys, one-time keys. */
class Keyring {
  readonly userId: string;
  readonly master = ed25519();
  readonly selfSigning = ed25519();
  readonly userSigning = ed25519();
  private readonly devices = new Map<string, { ed: ReturnType<typeof ed25519>; curve: string; keys: Record<string, unknown> }>();
  private keyCounter = 0;

  constructor(userId: string) {
    this.userId = userId;
  }

  /** The device's signed device_keys (the same object each time, as the server stores it). */
  device(deviceId: string) {
    let d = this.devices.get(deviceId);
    if (!d) {
      const ed = ed25519();
      const curve = curve25519();
      const keys = signJson({
        user_id: this.userId, device_id: deviceId,
        algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
        keys: { [`curve25519:${deviceId}`]: curve, [`ed25519:${deviceId}`]: ed.publicKey },
      }, this.userId, `ed25519:${deviceId}`, ed.privateKey);
      d = { ed, curve, keys };
      this.devices.set(deviceId, d);
    }
    return d;
  }

  /** Fresh signed curve25519 keys with new ids (a fallback key when asked). */
  oneTimeKeys(deviceId: string, count: number, fallback = false): Record<string, unknown> {
    const { ed } = this.device(deviceId);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const id = `signed_curve25519:AAAA${(++this.keyCounter).toString(36).toUpperCase().padStart(2, 'A')}`;
      const key = fallback ? { key: curve25519(), fallback: true } : { key: curve25519() };
      out[id] = signJson(key, this.userId, `ed25519:${deviceId}`, ed.privateKey);
    }
    return out;
  }

  crossSigningKey(usage: 'master' | 'self_signing' | 'user_signing'): Record<string, unknown> {
    const pair = usage === 'master' ? this.master : usage === 'self_signing' ? this.selfSigning : this.userSigning;
    const key = { user_id: this.userId, usage: [usage], keys: { [`ed25519:${pair.publicKey}`]: pair.publicKey } };
    return usage === 'master' ? key : signJson(key, this.userId, `ed25519:${this.master.publicKey}`, this.master.privateKey);
  }

  /** POST /keys/signatures/upload after bootstrapping: the device by the self-signing key, the master key by the device. */
  signatures(deviceId: string): Record<string, unknown> {
    const { ed, keys } = this.device(deviceId);
    return {
      [this.userId]: {
        [deviceId]: signJson(keys, this.userId, `ed25519:${this.selfSigning.publicKey}`, this.selfSigning.privateKey),
        [this.master.publicKey]: signJson(this.crossSigningKey('master'), this.userId, `ed25519:${deviceId}`, ed.privateKey),
      },
    };
  }

  backupAuthData(deviceId: string): Record<string, unknown> {
    const { ed } = this.device(deviceId);
    const authData = signJson({ public_key: curve25519() }, this.userId, `ed25519:${deviceId}`, ed.privateKey);
    return signJson(authData, this.userId, `ed25519:${this.master.publicKey}`, this.master.privateKey);
  }
}

// --- Filling placeholders ---

interface Replay {
  vars: Vars;
  keys: Keyring;
  txn: number;
}

/** Values made on demand: signed keys for the current device, transaction ids, ciphertext. */
function generated(name: string, r: Replay): unknown {
  const deviceId = String(r.vars.deviceId);
  switch (name) {
    case 'txnId': return `m${Date.now()}.${++r.txn}`;
    case 'signedDeviceKeys': return r.keys.device(deviceId).keys;
    case 'signedOneTimeKeys': return r.keys.oneTimeKeys(deviceId, 5);
    case 'signedFallbackKeys': return r.keys.oneTimeKeys(deviceId, 1, true);
    case 'masterKey': return r.keys.crossSigningKey('master');
    case 'selfSigningKey': return r.keys.crossSigningKey('self_signing');
    case 'userSigningKey': return r.keys.crossSigningKey('user_signing');
    case 'crossSigningSignatures': return r.keys.signatures(deviceId);
    case 'backupAuthData': return r.keys.backupAuthData(deviceId);
    case 'encryptedSecret':
      return { encrypted: { [String(r.vars.secretStorageKeyId)]: { iv: randomB64(16), ciphertext: randomB64(48), mac: randomB64(32) } } };
    case 'olmMessage':
      return {
        algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: r.keys.device(deviceId).curve,
        ciphertext: { [curve25519()]: { type: 0, body: randomB64(180) } },
      };
    default: return undefined;
  }
}

function lookup(name: string, r: Replay): unknown {
  const made = generated(name, r);
  if (made !== undefined) return made;
  if (r.vars[name] !== undefined) return r.vars[name];
  throw new Error(`{${name}} is not known: the earlier request that captures it did not succeed`);
}

const PLACEHOLDER = /\{([\w.]+)\}/g;

/** Fills placeholders in strings and object keys; a string that is one placeholder becomes its value (object or string). */
function fill(value: unknown, r: Replay): unknown {
  if (typeof value === 'string') {
    const whole = /^\{([\w.]+)\}$/.exec(value);
    if (whole) return lookup(whole[1], r);
    return value.replace(PLACEHOLDER, (_, name: string) => String(lookup(name, r)));
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, r));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [String(fill(k, r)), fill(v, r)]));
  }
  return value;
}

function urlOf(entry: Recorded, r: Replay): string {
  const path = entry.path.replace(PLACEHOLDER, (_, name: string) => encodeURIComponent(String(lookup(name, r))));
  if (!entry.query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(entry.query)) {
    const v = fill(value, r);
    params.set(key, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return `${path}?${params}`;
}

// --- Sending and judging ---

async function send(server: TestServer, entry: Recorded, r: Replay): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (entry.auth) headers.Authorization = `Bearer ${r.vars.accessToken}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (entry.bodyBase64 !== undefined) {
    body = new Uint8Array(Buffer.from(entry.bodyBase64, 'base64'));
    headers['Content-Type'] = entry.contentType ?? 'application/octet-stream';
  } else if (entry.body !== undefined) {
    body = JSON.stringify(fill(entry.body, r));
    headers['Content-Type'] = 'application/json';
  }
  const url = server.url + urlOf(entry, r);
  try {
    const res = await fetch(url, { method: entry.method, headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') assert.fail(`no answer within ${TIMEOUT_MS / 1000} s (a hang)\n      recorded from: ${entry.source}`);
    throw err;
  }
}

function describeReply(reply: Reply): string {
  return `${reply.status} ${reply.text.length > 300 ? `${reply.text.slice(0, 300)}…` : reply.text}`;
}

/** Fails with the message when the condition does not hold (no actual/expected diff to print). */
function check(condition: boolean, message: string): void {
  if (!condition) assert.fail(message);
}

function checkReply(entry: Recorded, reply: Reply): void {
  const got = `${describeReply(reply)}\n      recorded from: ${entry.source}`;
  check(reply.status < 500, `server error: ${got}`);
  const isChallenge = reply.status === 401 && Array.isArray(reply.json?.flows);
  if (reply.status >= 400 && !isChallenge) {
    check(typeof reply.json?.errcode === 'string', `an error must be JSON with an errcode: ${got}`);
  }
  switch (entry.expect) {
    case 'ok':
      check(reply.status >= 200 && reply.status < 300, `expected 2xx, got ${got}`);
      break;
    case 'not_found':
      check(reply.status === 404 && reply.json?.errcode === 'M_NOT_FOUND', `expected 404 M_NOT_FOUND, got ${got}`);
      break;
    case 'unrecognized':
      check((reply.status === 404 || reply.status === 400) && reply.json?.errcode === 'M_UNRECOGNIZED', `expected 404 M_UNRECOGNIZED, got ${got}`);
      break;
    case 'uia':
      check(isChallenge && typeof reply.json.session === 'string', `expected a 401 UIA challenge with flows and a session, got ${got}`);
      break;
  }
}

/** Stores the captured fields; an mxc:// URI also yields `<name>.server` and `<name>.id`. */
function capture(entry: Recorded, reply: Reply, r: Replay): void {
  for (const [name, field] of Object.entries(entry.capture ?? {})) {
    const value = reply.json?.[field];
    check(value !== undefined, `reply has no ${field} to capture: ${describeReply(reply)}`);
    r.vars[name] = value;
    const mxc = typeof value === 'string' ? /^mxc:\/\/([^/]+)\/(.+)$/.exec(value) : null;
    if (mxc) [r.vars[`${name}.server`], r.vars[`${name}.id`]] = [mxc[1], mxc[2]];
  }
}

// --- Per-client setup: the user, a second user, a shared room with a message in it ---

const localpartOf = (userId: string) => userId.slice(1, userId.indexOf(':'));

async function setUp(server: TestServer): Promise<Replay> {
  const me: TestUser = await server.register();
  const other: TestUser = await server.register();
  // Whisper takes DMs from friends only by default; the replayed DM goes to a stranger.
  await server.request('PUT', '/_whisper/client/v1/privacy', { token: other.access_token, body: { dm_from: 'everyone' } });
  const room = await server.request('POST', `${V3}/createRoom`, { token: me.access_token, body: { preset: 'private_chat', invite: [other.user_id] } });
  assert.equal(room.status, 200, `setup: createRoom ${JSON.stringify(room.body)}`);
  const roomId: string = room.body.room_id;
  const join = await server.request('POST', `${V3}/join/${encodeURIComponent(roomId)}`, { token: other.access_token, body: {} });
  assert.equal(join.status, 200, `setup: join ${JSON.stringify(join.body)}`);
  const sent = await server.request('PUT', `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/setup1`, {
    token: other.access_token, body: { msgtype: 'm.text', body: 'Hi!' },
  });
  assert.equal(sent.status, 200, `setup: send ${JSON.stringify(sent.body)}`);
  // The other user's device keys, so claims and queries find something; not required.
  const otherKeys = new Keyring(other.user_id);
  await server.request('POST', `${V3}/keys/upload`, {
    token: other.access_token,
    body: { device_keys: otherKeys.device(other.device_id).keys, one_time_keys: otherKeys.oneTimeKeys(other.device_id, 3) },
  });
  return {
    keys: new Keyring(me.user_id),
    txn: 0,
    vars: {
      userId: me.user_id, localpart: localpartOf(me.user_id), password: me.password,
      deviceId: me.device_id, accessToken: me.access_token,
      otherUserId: other.user_id, otherLocalpart: localpartOf(other.user_id), otherDeviceId: other.device_id,
      roomId, eventId: sent.body.event_id,
      freshLocalpart: `newcomer_${randomBytes(4).toString('hex')}`,
      secretStorageKeyId: randomB64(24).replace(/[+/]/g, 'x'),
    },
  };
}

/** "element-web GET /_matrix/client/v3/sync", with " (#2)" … on repeats. */
function titles(entries: Recorded[]): string[] {
  const seen = new Map<string, number>();
  return entries.map((e) => {
    const base = `${e.client} ${e.method} ${e.path}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base} (#${n})`;
  });
}

describe('recorded client start-up list', () => {
  it('covers Element Web and nheko, each entry well-formed and sourced', () => {
    for (const client of CLIENTS) assert.ok(RECORDED.filter((e) => e.client === client).length >= 20, client);
    for (const e of RECORDED) {
      const what = `${e.client} ${e.method} ${e.path}`;
      assert.ok(['GET', 'PUT', 'POST', 'DELETE'].includes(e.method), what);
      assert.ok(e.path.startsWith('/'), what);
      assert.ok(EXPECTS.includes(e.expect), `${what}: expect ${e.expect}`);
      assert.equal(typeof e.auth, 'boolean', what);
      assert.ok(e.source.length > 10, `${what}: names its source`);
    }
  });
});

describeServer('Element Web and nheko start-up, replayed', {}, (srv) => {
  for (const client of CLIENTS) {
    describe(client, () => {
      const entries = RECORDED.filter((e) => e.client === client);
      const names = titles(entries);
      let replay: Replay;

      before(async () => {
        replay = await setUp(srv());
      });

      entries.forEach((entry, i) => {
        it(names[i], async () => {
          const reply = await send(srv(), entry, replay);
          checkReply(entry, reply);
          capture(entry, reply, replay);
        });
      });
    });
  }
});
