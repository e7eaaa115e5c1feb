/**
 * Sync and pagination tokens. Opaque to clients; inside, a sync token is the position of
 * each stream it covers ("s<events>_a<account data>_r<receipts>_t<typing>_d<to-device>
 * _k<device lists>_p<presence>"), and a
 * pagination token is a point between two events of the line ("t<position>": events at or
 * below it are "before", above it "after").
 */
import { errors } from '../../errors.ts';

export const STREAMS = ['events', 'account_data', 'receipts', 'typing', 'to_device', 'device_lists', 'presence'] as const;
export type Stream = (typeof STREAMS)[number];
export type SyncToken = Record<Stream, number>;

const LETTERS: Record<Exclude<Stream, 'events'>, string> = { account_data: 'a', receipts: 'r', typing: 't', to_device: 'd', device_lists: 'k', presence: 'p' };

const LETTERED = Object.keys(LETTERS) as Array<keyof typeof LETTERS>;
const BY_LETTER: ReadonlyMap<string, keyof typeof LETTERS> = new Map(LETTERED.map((s) => [LETTERS[s], s]));
const PART = /_([a-z])(\d{1,15})/g;

// Tokens are decoded, compared and encoded on every /sync and every wake: these build plain
// literals (one object shape) rather than going through entries arrays.

/** Every stream at position zero: the start of time. */
export const zeroToken = (): SyncToken => ({ events: 0, account_data: 0, receipts: 0, typing: 0, to_device: 0, device_lists: 0, presence: 0 });

export function encodeSyncToken(t: SyncToken): string {
  let out = `s${t.events}`;
  for (const s of LETTERED) out += `_${LETTERS[s]}${t[s]}`;
  return out;
}

export function decodeSyncToken(token: string): SyncToken {
  const m = /^s(\d{1,15})((?:_[a-z]\d{1,15})*)$/.exec(token);
  if (!m) throw errors.invalidParam('Unknown sync token.');
  const out = zeroToken();
  out.events = Number(m[1]);
  // Letters this version does not know are skipped (a token from a newer server).
  for (const [, letter, position] of m[2].matchAll(PART)) {
    const stream = BY_LETTER.get(letter);
    if (stream) out[stream] = Number(position);
  }
  return out;
}

export function maxToken(a: SyncToken, b: SyncToken): SyncToken {
  const out = zeroToken();
  for (const s of STREAMS) out[s] = Math.max(a[s], b[s]);
  return out;
}

export function encodePaginationToken(position: number): string {
  return `t${Math.max(0, position)}`;
}

/** Accepts pagination tokens and sync tokens (a sync's next_batch is a valid `from`). */
export function decodePaginationToken(token: string): number {
  const t = /^t(\d{1,15})$/.exec(token);
  if (t) return Number(t[1]);
  if (token.startsWith('s')) return decodeSyncToken(token).events;
  throw errors.invalidParam('Unknown pagination token.');
}
