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

/** Every stream at position zero: the start of time. */
export const zeroToken = (): SyncToken => Object.fromEntries(STREAMS.map((s) => [s, 0])) as SyncToken;

export function encodeSyncToken(t: SyncToken): string {
  return `s${t.events}` + (Object.keys(LETTERS) as Array<keyof typeof LETTERS>).map((s) => `_${LETTERS[s]}${t[s]}`).join('');
}

export function decodeSyncToken(token: string): SyncToken {
  const m = /^s(\d{1,15})((?:_[a-z]\d{1,15})*)$/.exec(token);
  if (!m) throw errors.invalidParam('Unknown sync token.');
  const out: SyncToken = { ...zeroToken(), events: Number(m[1]) };
  for (const part of m[2].split('_').filter(Boolean)) {
    const stream = (Object.keys(LETTERS) as Array<keyof typeof LETTERS>).find((s) => LETTERS[s] === part[0]);
    if (stream) out[stream] = Number(part.slice(1));
  }
  return out;
}

export function maxToken(a: SyncToken, b: SyncToken): SyncToken {
  return Object.fromEntries(STREAMS.map((s) => [s, Math.max(a[s], b[s])])) as SyncToken;
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
