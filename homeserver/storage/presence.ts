/** Presence rows: state, status message, last activity and last sync, per user. */
import type { Queryable } from './database.ts';

export interface PresenceRow {
  user_id: string;
  state: 'online' | 'unavailable' | 'offline';
  status_msg: string | null;
  last_active_ts: number;
  last_sync_ts: number;
  stream_position: number;
}

function toRow(r: PresenceRow): PresenceRow {
  return { ...r, last_active_ts: Number(r.last_active_ts), last_sync_ts: Number(r.last_sync_ts), stream_position: Number(r.stream_position) };
}

export async function getPresence(q: Queryable, userIds: string[]): Promise<PresenceRow[]> {
  if (userIds.length === 0) return [];
  return (await q<PresenceRow>('presence').whereIn('user_id', userIds)).map(toRow);
}

export async function putPresence(q: Queryable, row: PresenceRow): Promise<void> {
  await q('presence').insert(row).onConflict('user_id').merge();
}

/** Of the given users, those whose presence changed in (after, upTo]. */
export async function changedBetween(q: Queryable, userIds: string[], after: number, upTo: number): Promise<PresenceRow[]> {
  if (userIds.length === 0 || upTo <= after) return [];
  const rows = await q<PresenceRow>('presence')
    .whereIn('user_id', userIds)
    .where('stream_position', '>', after)
    .where('stream_position', '<=', upTo);
  return rows.map(toRow);
}

/** The rows whose last change was at this position. */
export async function changedAt(q: Queryable, position: number): Promise<PresenceRow[]> {
  return (await q<PresenceRow>('presence').where('stream_position', position)).map(toRow);
}

/**
 * These users, where still online, were active at `ts`; with a position their rows move to it
 * (an announced change), without one they stay where they are (nobody hears of it). One
 * statement for a process's batch. Returns the users changed.
 */
export async function touchActive(q: Queryable, userIds: string[], ts: number, position?: number): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await q('presence').whereIn('user_id', userIds).where({ state: 'online' }).where('last_active_ts', '<', ts)
    .update(position === undefined ? { last_active_ts: ts } : { last_active_ts: ts, stream_position: position }, ['user_id']);
  return (rows as Array<{ user_id: string }>).map((r) => r.user_id);
}

/**
 * Records that these users were syncing at `ts` (one statement for a process's batch), for
 * the rows last recorded before `staleBefore`: a row need only be fresh enough for the offline
 * timeout, and rewriting every syncing user's row on every tick is churn for nothing.
 */
export async function touchSync(q: Queryable, userIds: string[], ts: number, staleBefore: number): Promise<void> {
  if (userIds.length === 0) return;
  await q('presence').whereIn('user_id', userIds).where('last_sync_ts', '<', staleBefore).update({ last_sync_ts: ts });
}

/** Users shown as present who stopped syncing before `syncedBefore`, or went idle before `activeBefore`. */
export async function timedOut(q: Queryable, syncedBefore: number, activeBefore: number): Promise<PresenceRow[]> {
  const rows = await q<PresenceRow>('presence')
    .whereIn('state', ['online', 'unavailable'])
    .where((w) => w.where('last_sync_ts', '<', syncedBefore).orWhere((o) => o.where({ state: 'online' }).where('last_active_ts', '<', activeBefore)))
    .forUpdate()
    .skipLocked();
  return rows.map(toRow);
}
