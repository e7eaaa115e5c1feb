/** The events table: every room event in stream order, and the state it implies. */
import type { Knex } from 'knex';
import type { Queryable } from './database.ts';
import { blockedIdsOf } from './friends.ts';

export interface EventRow {
  stream_ordering: number;
  event_id: string;
  room_id: string;
  type: string;
  state_key: string | null;
  sender: string;
  origin_server_ts: number;
  depth: number;
  json: Pdu;
  redacted_by: string | null;
  txn_device_id: string | null;
  txn_id: string | null;
  membership: string | null;
  replaces_state: string | null;
  relates_to: string | null;
  rel_type: string | null;
  aggregation_key: string | null;
  /** Some event relates to this one (bundled aggregations may exist). */
  has_relations?: boolean;
}

/** A PDU (room v10/11 format) without event_id, which room v3+ derive from it. */
export interface PduBody {
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  depth: number;
  prev_events: string[];
  auth_events: string[];
  /** Top-level only in room v10; v11 moved it into `content.redacts`. */
  redacts?: string;
  hashes?: { sha256: string };
  signatures?: Record<string, Record<string, string>>;
  unsigned?: Record<string, unknown>;
}

/** The stored event: hashed, with its derived event_id. */
export interface Pdu extends Omit<PduBody, 'unsigned'> {
  event_id: string;
  hashes: { sha256: string };
  signatures: Record<string, Record<string, string>>;
}

function toRow(r: Record<string, unknown>): EventRow {
  return {
    ...(r as unknown as EventRow),
    stream_ordering: Number(r.stream_ordering),
    origin_server_ts: Number(r.origin_server_ts),
    depth: Number(r.depth),
    json: typeof r.json === 'string' ? JSON.parse(r.json) : (r.json as Pdu),
  };
}

/** An event's row as written, before its position is taken. */
export type NewEventRow = Omit<EventRow, 'redacted_by' | 'stream_ordering'>;

/** Rows of another table stored at an event's position (their `stream_ordering`). */
export interface PositionedRows {
  /** A table whose columns the rows' keys name, plus `stream_ordering`. */
  table: string;
  rows: Array<Record<string, unknown>>;
}

/** What is written with the event in the statement that takes its position. */
export interface NextEventWrites {
  /** The transaction id it was sent under. */
  txn?: { userId: string; deviceId: string; txnId: string };
  /** Rows that need the position (push actions). */
  rows?: PositionedRows[];
  /** A NOTIFY whose payload is `before` + position + `after` (delivered at commit). */
  notify?: { channel: string; around: [string, string] };
  /**
   * Lock the room's row FOR KEY SHARE before the position: a writer holding the room
   * (`roomState.lockRoom`) is waited for, and locks are always taken room first, then stream.
   */
  roomShared?: boolean;
}

/**
 * Takes the next events position and stores the event there, with everything else that needs
 * the position, in one statement: the events stream, which every room shares, is locked from
 * this statement to the commit, so every round trip after it delays every sender (on a busy
 * event loop, by milliseconds each). Returns the position.
 */
export async function insertNextEvent(q: Queryable, row: NewEventRow, writes: NextEventWrites = {}): Promise<number> {
  const values: Record<string, unknown> = { ...row, json: JSON.stringify(row.json) };
  const columns = Object.keys(values);
  const bindings: unknown[] = columns.map((c) => values[c] as unknown);
  const more: string[] = [];
  let shared = '';
  if (writes.roomShared) {
    shared = 'k AS (SELECT 1 FROM rooms WHERE room_id = ? FOR KEY SHARE),\n       ';
    bindings.unshift(row.room_id);
  }
  if (writes.txn) {
    more.push('t AS (INSERT INTO event_txns (user_id, device_id, txn_id, event_id, created_ts) VALUES (?, ?, ?, ?, ?))');
    bindings.push(writes.txn.userId, writes.txn.deviceId, writes.txn.txnId, row.event_id, Date.now());
  }
  if (row.relates_to) {
    // After p (the main query pulls e, hence p, first; the other CTEs run after it): the
    // stream lock is always taken before an event row's, as a redaction's update does.
    more.push('h AS (UPDATE events SET has_relations = true WHERE event_id = ? AND NOT has_relations)');
    bindings.push(row.relates_to);
  }
  for (const [i, { table, rows }] of (writes.rows ?? []).entries()) {
    if (rows.length === 0) continue;
    const cols = Object.keys(rows[0]).map((c) => `"${c}"`).join(', ');
    // The table's own row type gives the JSON fields their column types.
    more.push(`r${i} AS (INSERT INTO "${table}" (${cols}, stream_ordering)
      SELECT ${cols}, (SELECT position FROM p) FROM json_populate_recordset(NULL::"${table}", ?::json))`);
    bindings.push(JSON.stringify(rows));
  }
  let notify = '';
  if (writes.notify) {
    notify = ', pg_notify(?, ? || stream_ordering::text || ?)';
    bindings.push(writes.notify.channel, ...writes.notify.around);
  }
  // VALUES, not SELECT: the parameters take the columns' types.
  const result = await q.raw(
    `WITH ${shared}p AS (UPDATE stream_positions SET position = position + 1 WHERE stream = 'events'${shared ? ' AND EXISTS (SELECT 1 FROM k)' : ''} RETURNING position),
       e AS (INSERT INTO events (stream_ordering, ${columns.map((c) => `"${c}"`).join(', ')})
             VALUES ((SELECT position FROM p), ${columns.map(() => '?').join(', ')}) RETURNING stream_ordering)${more.map((m) => `,\n       ${m}`).join('')}
     SELECT stream_ordering${notify} FROM e`,
    bindings as Knex.RawBinding[],
  );
  return Number((result.rows as Array<{ stream_ordering: string }>)[0].stream_ordering);
}

export async function getEvent(q: Queryable, eventId: string): Promise<EventRow | undefined> {
  const r = await q('events').where({ event_id: eventId }).first();
  return r && toRow(r);
}

export async function getEvents(q: Queryable, eventIds: string[]): Promise<EventRow[]> {
  if (eventIds.length === 0) return [];
  return (await q('events').whereIn('event_id', eventIds)).map(toRow);
}

/** The events at these stream positions (those that exist), in no particular order. */
export async function eventsAtPositions(q: Queryable, positions: number[]): Promise<EventRow[]> {
  if (positions.length === 0) return [];
  return (await q('events').whereIn('stream_ordering', positions)).map(toRow);
}

/**
 * The newest event of a room (the next event's prev_events and depth come from it) and, when
 * a transaction id is given, the event already sent under it: one round trip for both.
 */
export async function roomHead(q: Queryable, roomId: string, txn?: { userId: string; deviceId: string; txnId: string }): Promise<{
  latest?: { event_id: string; depth: number; stream_ordering: number };
  txnEventId?: string;
}> {
  const latest = q('events').where({ room_id: roomId }).orderBy('stream_ordering', 'desc').limit(1).select('event_id', 'depth', 'stream_ordering');
  const sent = txn
    ? q('event_txns').where({ user_id: txn.userId, device_id: txn.deviceId, txn_id: txn.txnId }).select('event_id')
    : q.raw('SELECT NULL::text AS event_id WHERE false');
  const result = await q.raw(
    'SELECT l.event_id, l.depth, l.stream_ordering, (?) AS txn_event_id FROM (SELECT 1) AS one LEFT JOIN LATERAL (?) AS l ON true',
    [sent, latest],
  );
  const r = (result.rows as Array<{ event_id: string | null; depth: string; stream_ordering: string; txn_event_id: string | null }>)[0];
  return {
    latest: r.event_id ? { event_id: r.event_id, depth: Number(r.depth), stream_ordering: Number(r.stream_ordering) } : undefined,
    txnEventId: r.txn_event_id ?? undefined,
  };
}

/**
 * A room's events in a window of stream positions: `after` < position ≤ `upTo`, newest
 * first when `dir` is 'b' (back-pagination), oldest first when 'f'.
 */
export async function roomEvents(
  q: Queryable,
  roomId: string,
  opts: {
    after: number; upTo: number; dir: 'b' | 'f'; limit: number; types?: string[]; notTypes?: string[]; senders?: string[]; notSenders?: string[];
    /** Leaves out the messages of senders this user blocked (their state events stay, so the room's state adds up). */
    hiddenFor?: string;
    /** The users `hiddenFor` blocked, when the caller knows them (saves the lookup, or the whole filter). */
    blocked?: readonly string[];
  },
): Promise<EventRow[]> {
  const query = q('events')
    .where('room_id', roomId)
    .where('stream_ordering', '>', opts.after)
    .where('stream_ordering', '<=', opts.upTo)
    .orderBy('stream_ordering', opts.dir === 'b' ? 'desc' : 'asc')
    .limit(opts.limit);
  if (opts.types?.length) query.whereIn('type', opts.types);
  if (opts.notTypes?.length) query.whereNotIn('type', opts.notTypes);
  if (opts.senders?.length) query.whereIn('sender', opts.senders);
  if (opts.notSenders?.length) query.whereNotIn('sender', opts.notSenders);
  if (opts.hiddenFor !== undefined) hideBlocked(q, query, opts.hiddenFor, 'events', opts.blocked);
  return (await query).map(toRow);
}

/**
 * Leaves out the non-state events of senders `viewer` blocked (spec, ignoring users: state
 * events still reach the client, so the room's name and members add up). The query must read
 * `events` unaliased or as `alias`. `blocked`, the users the viewer blocked when the caller
 * knows them, replaces the subquery (none: nothing to filter).
 */
export function hideBlocked(q: Queryable, query: Knex.QueryBuilder, viewer: string, alias = 'events', blocked?: readonly string[]): void {
  if (blocked?.length === 0) return;
  query.where((w) => w.whereNotNull(`${alias}.state_key`).orWhereNotIn(`${alias}.sender`, blocked ? [...blocked] : blockedIdsOf(q, viewer)));
}

/**
 * The latest state event per (type, state_key) among a room's events with
 * `after` < position ≤ `upTo`: the full state at `upTo` when `after` is 0, a delta otherwise.
 */
export async function stateEventsBetween(q: Queryable, roomId: string, after: number, upTo: number): Promise<EventRow[]> {
  const rows = await q
    .select('*')
    .from(
      q('events')
        .distinctOn('type', 'state_key')
        .where('room_id', roomId)
        .whereNotNull('state_key')
        .where('stream_ordering', '>', after)
        .where('stream_ordering', '<=', upTo)
        .orderBy([{ column: 'type' }, { column: 'state_key' }, { column: 'stream_ordering', order: 'desc' }])
        .as('s'),
    )
    .orderBy('stream_ordering');
  return rows.map(toRow);
}

/** One user's membership events in a room (their whole history), oldest first. */
export async function membershipHistory(q: Queryable, roomId: string, userId: string): Promise<Array<{ stream_ordering: number; membership: string }>> {
  const rows = await q('events')
    .where({ room_id: roomId, type: 'm.room.member', state_key: userId })
    .orderBy('stream_ordering')
    .select('stream_ordering', 'membership');
  return rows.map((r: { stream_ordering: string; membership: string }) => ({ stream_ordering: Number(r.stream_ordering), membership: r.membership }));
}

/** History-visibility settings of a room over time, oldest first. */
export async function visibilityHistory(q: Queryable, roomId: string): Promise<Array<{ stream_ordering: number; visibility: string }>> {
  const rows = await q('events')
    .where({ room_id: roomId, type: 'm.room.history_visibility', state_key: '' })
    .orderBy('stream_ordering')
    .select('stream_ordering', 'json');
  return rows.map((r: { stream_ordering: string; json: Pdu | string }) => {
    const json = typeof r.json === 'string' ? (JSON.parse(r.json) as Pdu) : r.json;
    return { stream_ordering: Number(r.stream_ordering), visibility: String(json.content.history_visibility ?? 'shared') };
  });
}

/** Events relating to one event, newest first (dir 'b') or oldest first, in a position window. */
export async function relationsOf(
  q: Queryable,
  eventId: string,
  opts: {
    relType?: string; eventType?: string; after: number; upTo: number; dir: 'b' | 'f'; limit: number;
    /** Leaves out the relations (reactions, replies, edits) of senders this user blocked. */
    hiddenFor?: string;
  },
): Promise<EventRow[]> {
  const query = q('events')
    .where({ relates_to: eventId })
    .whereNull('redacted_by')
    .where('stream_ordering', '>', opts.after)
    .where('stream_ordering', '<=', opts.upTo)
    .orderBy('stream_ordering', opts.dir === 'b' ? 'desc' : 'asc')
    .limit(opts.limit);
  if (opts.relType) query.where({ rel_type: opts.relType });
  if (opts.eventType) query.where({ type: opts.eventType });
  if (opts.hiddenFor !== undefined) hideBlocked(q, query, opts.hiddenFor);
  return (await query).map(toRow);
}

/** An un-redacted annotation with this sender and key on the event, if there is one. */
export async function findAnnotation(q: Queryable, eventId: string, sender: string, key: string): Promise<string | undefined> {
  const r = await q('events').where({ relates_to: eventId, rel_type: 'm.annotation', sender, aggregation_key: key }).whereNull('redacted_by').first('event_id');
  return r?.event_id;
}

/** For bundling: the newest valid edit of each event (same sender and type as the original). */
export async function latestEdits(q: Queryable, originals: Array<{ event_id: string; sender: string; type: string }>): Promise<Map<string, EventRow>> {
  if (!originals.length) return new Map();
  const rows = await q('events as e')
    .distinctOn('e.relates_to')
    .whereIn('e.relates_to', originals.map((o) => o.event_id))
    .where('e.rel_type', 'm.replace')
    .whereNull('e.redacted_by')
    .orderBy([{ column: 'e.relates_to' }, { column: 'e.stream_ordering', order: 'desc' }])
    .select('e.*');
  const byId = new Map(originals.map((o) => [o.event_id, o]));
  const out = new Map<string, EventRow>();
  for (const r of rows.map(toRow)) {
    const original = byId.get(r.relates_to!);
    if (original && original.sender === r.sender && original.type === r.type) out.set(r.relates_to!, r);
  }
  return out;
}

/**
 * For bundling: each thread root's reply count and newest reply, and whether a user took part;
 * the replies of senders that user blocked do not count.
 */
export async function threadSummaries(q: Queryable, rootIds: string[], userId: string): Promise<Map<string, { count: number; latest: EventRow; participated: boolean }>> {
  if (!rootIds.length) return new Map();
  const query = q('events')
    .whereIn('relates_to', rootIds)
    .where('rel_type', 'm.thread')
    .whereNull('redacted_by');
  hideBlocked(q, query, userId);
  const counts = await query
    .groupBy('relates_to')
    .select('relates_to', q.raw('count(*) as n'), q.raw('max(stream_ordering) as latest'), q.raw('bool_or(sender = ?) as participated', [userId]));
  if (!counts.length) return new Map();
  const latest = await q('events').whereIn('stream_ordering', counts.map((c: { latest: string }) => c.latest));
  const latestById = new Map(latest.map((r: Record<string, unknown>) => [Number(r.stream_ordering), toRow(r)]));
  return new Map(counts.map((c: { relates_to: string; n: string; latest: string; participated: boolean }) => [
    c.relates_to,
    { count: Number(c.n), latest: latestById.get(Number(c.latest))!, participated: Boolean(c.participated) },
  ]));
}

export async function setRedacted(q: Queryable, eventId: string, redactedBy: string, json: Pdu): Promise<void> {
  await q('events').where({ event_id: eventId }).update({ redacted_by: redactedBy, json: JSON.stringify(json) });
}

/**
 * What an incremental sync first needs of the window (after, upTo] in the given rooms, in one
 * round trip: which rooms have any events, and the membership events in order.
 */
export async function windowOverview(q: Queryable, roomIds: string[], after: number, upTo: number): Promise<{
  roomsWithEvents: Set<string>;
  memberEvents: Array<{ room_id: string; user_id: string; membership: string }>;
}> {
  if (roomIds.length === 0 || upTo <= after) return { roomsWithEvents: new Set(), memberEvents: [] };
  const result = await q.raw(
    `SELECT * FROM (SELECT room_id, state_key AS user_id, membership, stream_ordering FROM events
       WHERE room_id = ANY(?) AND type = 'm.room.member' AND stream_ordering > ? AND stream_ordering <= ?) AS members
     UNION ALL
     SELECT DISTINCT room_id, NULL, NULL, NULL::bigint FROM events WHERE room_id = ANY(?) AND stream_ordering > ? AND stream_ordering <= ?
     ORDER BY stream_ordering NULLS FIRST`,
    [roomIds, after, upTo, roomIds, after, upTo],
  );
  const rows = result.rows as Array<{ room_id: string; user_id: string | null; membership: string | null }>;
  return {
    roomsWithEvents: new Set(rows.filter((r) => r.user_id === null).map((r) => r.room_id)),
    memberEvents: rows.filter((r) => r.user_id !== null).map((r) => ({ room_id: r.room_id, user_id: r.user_id!, membership: r.membership! })),
  };
}

/** Membership changes in the given rooms in (after, upTo]: who joined or went, in order. */
export async function memberChangesBetween(q: Queryable, roomIds: string[], after: number, upTo: number): Promise<Array<{ room_id: string; user_id: string; membership: string }>> {
  if (roomIds.length === 0 || upTo <= after) return [];
  return q('events')
    .whereIn('room_id', roomIds)
    .where({ type: 'm.room.member' })
    .where('stream_ordering', '>', after)
    .where('stream_ordering', '<=', upTo)
    .orderBy('stream_ordering')
    .select('room_id', 'state_key as user_id', 'membership');
}
