/**
 * The Matrix event format of room versions 10 and 11: canonical JSON, the redaction
 * algorithm, content and reference hashes, event ids and size limits. Pure functions only:
 * everything here must give the same bytes as every other server, so nothing reads state.
 */
import { hash } from 'node:crypto';
import stableStringify from 'json-stable-stringify';
import { errors } from '../../errors.ts';
import type { PduBody } from '../../storage/events.ts';

export type RoomVersion = '10' | '11';

// Spec, server-server API "Size limits".
const MAX_EVENT_BYTES = 65536;
const MAX_KEY_BYTES = 255;
const SIZE_LIMITED_KEYS = ['sender', 'room_id', 'type', 'state_key', 'event_id'] as const;

// Canonical JSON only has integers a double can hold exactly (appendix "Canonical JSON").
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// Deeper nesting than this is no real event, and walking it recursively could overflow the
// stack; it also turns a reference cycle into an error instead of a hang.
const MAX_DEPTH = 512;

// ---------------------------------------------------------------------------------------
// Canonical JSON

/**
 * Orders strings by Unicode code point, which the spec requires for object keys. JS compares
 * UTF-16 code units, which differs when a supplementary-plane character (a surrogate pair,
 * D800–DFFF) meets one in E000–FFFF: shifting surrogates above that range fixes it.
 */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * Matrix canonical JSON (appendix "Canonical JSON"): no whitespace, keys sorted by code
 * point, UTF-8 left unescaped, integers only. Object members that are `undefined` are left
 * out, as JSON.stringify does, so optional fields of typed events need no cleaning first.
 * Throws 400 M_BAD_JSON for values the encoding cannot carry (see checkCanonicalValues).
 */
export function canonicalJson(value: unknown): string {
  checkCanonicalValues(value);
  // json-stable-stringify writes compact JSON through JSON.stringify, whose string escapes
  // (\" \\ \b \f \n \r \t, else lowercase \u00XX for control characters only) are exactly
  // the spec's grammar; we supply the code point ordering it lacks by default.
  const out = stableStringify(value, { cmp: (a, b) => compareCodePoints(a.key, b.key) });
  if (out === undefined) throw errors.badJson('Value cannot be encoded as JSON.');
  return out;
}

/**
 * Rejects what canonical JSON cannot carry: non-integers, integers outside ±(2^53-1),
 * strings with lone surrogates (no UTF-8 form), and anything that is not plain JSON data.
 * Throws 400 M_BAD_JSON naming the offending path (e.g. `a.b[2]`).
 */
export function checkCanonicalValues(content: unknown): void {
  checkValue(content, '', 0, false, false);
}

/**
 * The same checks for JSON that is stored but never hashed or signed (account data, tags):
 * there floats are allowed, as clients use them (Element's tag `order` is 0.5 and so on).
 */
export function checkStoredJsonValues(content: unknown): void {
  checkValue(content, '', 0, false, true);
}

function checkValue(value: unknown, path: string, depth: number, inObject: boolean, floats: boolean): void {
  const bad = (why: string) =>
    errors.badJson(path === '' ? `Bad JSON value: ${why}` : `Bad JSON value at ${path}: ${why}`);
  if (depth > MAX_DEPTH) throw bad(`nested deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw bad('string contains a lone surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (floats) {
        if (!Number.isFinite(value)) throw bad('not a finite number');
        return;
      }
      if (!Number.isInteger(value)) throw bad('only integers are allowed, not floats');
      if (Math.abs(value) > MAX_SAFE) throw bad(`integer outside ±${MAX_SAFE}`);
      return;
    case 'undefined':
      // An absent object member is fine; undefined anywhere else has no JSON form.
      if (inObject) return;
      throw bad('undefined is not a JSON value');
    case 'object':
      break;
    default:
      throw bad(`${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  if (Array.isArray(value)) {
    // An index loop, not forEach, so holes in a sparse array are caught as undefined.
    for (let i = 0; i < value.length; i++) checkValue(value[i], `${path}[${i}]`, depth + 1, false, floats);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw bad('not a plain JSON object');
  for (const [key, item] of Object.entries(value)) {
    if (!key.isWellFormed()) throw bad('key contains a lone surrogate');
    checkValue(item, joinPath(path, key), depth + 1, true, floats);
  }
}

/** The spec's dot-separated property paths: dots and backslashes in names are escaped. */
function joinPath(path: string, key: string): string {
  const escaped = key.replace(/[\\.]/g, (c) => `\\${c}`);
  return path === '' ? escaped : `${path}.${escaped}`;
}

// ---------------------------------------------------------------------------------------
// Redaction

// Top-level keys the redaction algorithm keeps (rooms/v9 for v10; rooms/v11 dropped
// `origin`, `membership` and `prev_state`, which no auth rule reads any more).
const KEPT_KEYS_V11 = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures',
  'depth', 'prev_events', 'auth_events', 'origin_server_ts',
];
const KEPT_KEYS_V10 = [...KEPT_KEYS_V11, 'prev_state', 'origin', 'membership'];

const POWER_LEVEL_KEYS_V10 = [
  'ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default',
];

/** How kept values are carried over: deep-copied, or shared with the source (for hashing only). */
type Carry = <V>(value: V) => V;
const shared: Carry = (value) => value;

/**
 * The spec's redaction algorithm: strips every top-level key not needed for auth and the
 * content keys not listed for the event's type. Returns a new, deep-copied object; `unsigned`
 * is dropped too (callers serving clients add `redacted_because` back themselves).
 */
export function redactEvent<T extends PduBody | Record<string, unknown>>(
  event: T,
  roomVersion: RoomVersion,
): T {
  return redactWith(event, roomVersion, structuredClone);
}

function redactWith<T extends PduBody | Record<string, unknown>>(event: T, roomVersion: RoomVersion, carry: Carry): T {
  const source = event as Record<string, unknown>;
  const kept = roomVersion === '11' ? KEPT_KEYS_V11 : KEPT_KEYS_V10;
  const out: Record<string, unknown> = {};
  for (const key of kept) {
    if (key !== 'content' && Object.hasOwn(source, key) && source[key] !== undefined) {
      out[key] = carry(source[key]);
    }
  }
  const type = typeof source.type === 'string' ? source.type : '';
  const content = isObject(source.content) ? source.content : {};
  // Every server keeps a `content` object on a redacted event, even an empty one, so the
  // reference hash agrees.
  out.content = redactContent(type, content, roomVersion, carry);
  return out as T;
}

/** The content half of the redaction algorithm, for one event type. Returns a new object. */
export function redactContent(
  type: string,
  content: Record<string, unknown>,
  roomVersion: RoomVersion,
  carry: Carry = structuredClone,
): Record<string, unknown> {
  const pick = (source: Record<string, unknown>, keys: readonly string[]) => pickWith(source, keys, carry);
  const v11 = roomVersion === '11';
  switch (type) {
    case 'm.room.member': {
      const out = pick(content, ['membership', 'join_authorised_via_users_server']);
      // v11 keeps the signed third-party-invite proof so the membership stays verifiable.
      const invite = content.third_party_invite;
      if (v11 && isObject(invite)) out.third_party_invite = pick(invite, ['signed']);
      return out;
    }
    case 'm.room.create':
      // v11 keeps it all (room_version, m.federate, predecessor matter to auth forever).
      return v11 ? carry(content) : pick(content, ['creator']);
    case 'm.room.join_rules':
      return pick(content, ['join_rule', 'allow']);
    case 'm.room.power_levels':
      return pick(content, v11 ? [...POWER_LEVEL_KEYS_V10, 'invite'] : POWER_LEVEL_KEYS_V10);
    case 'm.room.history_visibility':
      return pick(content, ['history_visibility']);
    case 'm.room.redaction':
      // v11 moved `redacts` into content; in v10 a redacted redaction loses its target.
      return v11 ? pick(content, ['redacts']) : {};
    default:
      return {};
  }
}

function pickWith(source: Record<string, unknown>, keys: readonly string[], carry: Carry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (Object.hasOwn(source, key) && source[key] !== undefined) {
      out[key] = carry(source[key]);
    }
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------
// Hashes and ids

/** One-shot: two digests per sent event, where a Hash object each cost more than the digest. */
function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

function without(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out = { ...source };
  for (const key of keys) delete out[key];
  return out;
}

/**
 * The content hash (server-server API "Calculating the content hash for an event"): sha256 of
 * the canonical JSON of the whole unredacted event less `unsigned`, `signatures` and
 * `hashes`, as unpadded standard base64.
 */
export function contentHash(event: PduBody): string {
  const body = without(event as unknown as Record<string, unknown>, ['unsigned', 'signatures', 'hashes']);
  return sha256(canonicalJson(body)).toString('base64').replace(/=+$/, '');
}

/** The event with its `hashes.sha256` (re)computed; it must be set before signing. */
export function withHashes(event: PduBody): PduBody & { hashes: { sha256: string } } {
  return { ...event, hashes: { sha256: contentHash(event) } };
}

/**
 * The event id of room v4+ (rooms/v4 "Event IDs"): `$` + URL-safe unpadded base64 of the
 * reference hash, i.e. sha256 of the redacted event less `signatures` and `unsigned`.
 * A stray `event_id` member is ignored too: an id cannot be part of its own hash input, and
 * this keeps the id stable for stored events that carry theirs.
 */
export function eventIdFor(event: PduBody, roomVersion: RoomVersion): string {
  // Only hashed, never kept or changed: the kept values are shared, not deep-copied (a copy of
  // prev_events, auth_events and content on every send showed in profiles).
  const redacted = redactWith(event as unknown as Record<string, unknown>, roomVersion, shared);
  const body = without(redacted, ['signatures', 'unsigned', 'event_id']);
  return `$${sha256(canonicalJson(body)).toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------
// Limits

/**
 * The spec's size limits (server-server API "Size limits"): the whole event as canonical JSON,
 * signatures included, at most 65536 bytes; sender, room_id, type, state_key (and event_id,
 * if carried) at most 255 bytes each. Throws 413 M_TOO_LARGE, or 400 M_BAD_JSON for a key
 * of the wrong type or a value canonical JSON rejects.
 */
export function checkEventSize(event: PduBody): void {
  const fields = event as unknown as Record<string, unknown>;
  for (const key of SIZE_LIMITED_KEYS) {
    const value = fields[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw errors.badJson(`Event ${key} must be a string.`);
    if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) {
      throw errors.tooLarge(`Event ${key} is longer than ${MAX_KEY_BYTES} bytes.`);
    }
  }
  const size = Buffer.byteLength(canonicalJson(event), 'utf8');
  if (size > MAX_EVENT_BYTES) {
    throw errors.tooLarge(`Event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}.`);
  }
}
