/**
 * Sync and pagination tokens. Opaque to clients; inside, a sync token is the position of
 * each stream it covers ("s<events>"; later streams append "_<name><position>"), and a
 * pagination token is a point between two events of the line ("t<position>": events at or
 * below it are "before", above it "after").
 */
import { errors } from '../../errors.ts';

export interface SyncToken {
  events: number;
}

export function encodeSyncToken(t: SyncToken): string {
  return `s${t.events}`;
}

export function decodeSyncToken(token: string): SyncToken {
  const m = /^s(\d{1,15})(?:_[a-z]\d{1,15})*$/.exec(token);
  if (!m) throw errors.invalidParam('Unknown sync token.');
  return { events: Number(m[1]) };
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
