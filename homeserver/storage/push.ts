/** Push rule customisations per user, and the push actions decided for each event and recipient. */
import type { Knex } from 'knex';
import type { Queryable } from './database.ts';
import type { PositionedRows } from './events.ts';
import * as friends from './friends.ts';

export async function getUserRules(q: Queryable, userIds: string[]): Promise<Map<string, unknown>> {
  if (!userIds.length) return new Map();
  const rows = await q('push_rules').whereIn('user_id', userIds).select('user_id', 'rules');
  return new Map(rows.map((r: { user_id: string; rules: unknown }) => [r.user_id, typeof r.rules === 'string' ? JSON.parse(r.rules) : r.rules]));
}

export async function putUserRules(q: Queryable, userId: string, rules: unknown): Promise<void> {
  await q('push_rules').insert({ user_id: userId, rules: JSON.stringify(rules) }).onConflict('user_id').merge(['rules']);
}

export interface PushActionRow {
  user_id: string;
  room_id: string;
  event_id: string;
  stream_ordering: number;
  thread_id: string;
  notify: boolean;
  highlight: boolean;
  actions: unknown[];
  ts: number;
}

/**
 * Leaves out what senders the user blocked notified them of. Read-time, as for timelines:
 * an unblock brings back what came before the block (nothing sent during it was recorded).
 * With the blocked users known (`blocked`), a user who blocked no one needs no filter: it
 * costs a lookup of the event per unread notification.
 */
function notFromBlocked(q: Queryable, query: Knex.QueryBuilder, userId: string, blocked?: readonly string[]): void {
  if (blocked?.length === 0) return;
  query.whereNotExists(
    q('events as e').whereRaw('e.event_id = event_push_actions.event_id')
      .whereIn('e.sender', blocked ? [...blocked] : friends.blockedIdsOf(q, userId)),
  );
}

/** Push actions to store with their event, at its position (see events.insertNextEvent). */
export function pushActionRows(rows: Array<Omit<PushActionRow, 'stream_ordering'>>): PositionedRows {
  return { table: 'event_push_actions', rows };
}

/**
 * Notification and highlight counts per thread ('main' = main timeline) after the user's
 * read position there (spec: threaded read receipts): their newest unthreaded receipt, or
 * their newest receipt in that thread (`main`, or the thread's root id), or their join if
 * later — what came before joining (such as their own invite) is not news in the room.
 * One query, as every synced room asks.
 */
export async function unreadCounts(q: Queryable, userId: string, roomId: string, blocked?: readonly string[], upTo?: number): Promise<Array<{ thread_id: string; notifications: number; highlights: number }>> {
  // Where the user read everywhere: an unthreaded receipt, or the join if later.
  const readEverywhere = q.raw(
    `GREATEST(
      COALESCE((SELECT max(event_stream_ordering) FROM receipts WHERE room_id = ? AND user_id = ? AND receipt_type IN ('m.read', 'm.read.private') AND thread_id = ''), 0),
      COALESCE((SELECT stream_ordering FROM current_state WHERE room_id = ? AND type = 'm.room.member' AND state_key = ? AND membership = 'join'), 0))`,
    [roomId, userId, roomId, userId],
  );
  // Where the user read in each thread ('main' included): a handful of rows, joined once.
  const readInThread = q('receipts')
    .where({ room_id: roomId, user_id: userId })
    .whereIn('receipt_type', ['m.read', 'm.read.private'])
    .whereNot('thread_id', '')
    .groupBy('thread_id')
    .select('thread_id', q.raw('max(event_stream_ordering) as read_up_to'))
    .as('threaded');
  const query = q('event_push_actions')
    .leftJoin(readInThread, 'threaded.thread_id', 'event_push_actions.thread_id')
    .where({ 'event_push_actions.user_id': userId, 'event_push_actions.room_id': roomId, 'event_push_actions.notify': true })
    .whereRaw('event_push_actions.stream_ordering > GREATEST(?, COALESCE(threaded.read_up_to, 0))', [readEverywhere])
    .groupBy('event_push_actions.thread_id')
    .select('event_push_actions.thread_id', q.raw('count(*) as notifications'), q.raw('count(*) filter (where event_push_actions.highlight) as highlights'));
  notFromBlocked(q, query, userId, blocked);
  if (upTo !== undefined) query.where('event_push_actions.stream_ordering', '<=', upTo);
  const rows = await query;
  return rows.map((r: { thread_id: string; notifications: string; highlights: string }) => ({ thread_id: r.thread_id, notifications: Number(r.notifications), highlights: Number(r.highlights) }));
}

/** A user's notifications, newest first, before a stream position. */
export async function notificationsOf(q: Queryable, userId: string, opts: { before: number; limit: number; onlyHighlight: boolean }): Promise<PushActionRow[]> {
  const query = q('event_push_actions')
    .where({ user_id: userId, notify: true })
    .where('stream_ordering', '<', opts.before)
    .orderBy('stream_ordering', 'desc')
    .limit(opts.limit);
  notFromBlocked(q, query, userId);
  if (opts.onlyHighlight) query.where({ highlight: true });
  return (await query).map((r: Record<string, unknown>) => ({
    ...(r as unknown as PushActionRow),
    stream_ordering: Number(r.stream_ordering),
    ts: Number(r.ts),
    actions: typeof r.actions === 'string' ? JSON.parse(r.actions) : (r.actions as unknown[]),
  }));
}
