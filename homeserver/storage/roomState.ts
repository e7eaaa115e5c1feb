/** Rooms and their current state (the latest state event per type and state_key). */
import type { Queryable } from './database.ts';
import type { Pdu } from './events.ts';

export interface RoomRow {
  room_id: string;
  room_version: string;
  creator: string;
  created_ts: number;
  published: boolean;
}

export interface CurrentStateRow {
  room_id: string;
  type: string;
  state_key: string;
  event_id: string;
  stream_ordering: number;
  membership: string | null;
}

export async function insertRoom(q: Queryable, row: RoomRow): Promise<void> {
  await q('rooms').insert(row);
}

export async function getRoom(q: Queryable, roomId: string): Promise<RoomRow | undefined> {
  const r = await q<RoomRow>('rooms').where({ room_id: roomId }).first();
  return r && { ...r, created_ts: Number(r.created_ts) };
}

export async function setCurrentState(q: Queryable, row: CurrentStateRow): Promise<void> {
  await q('current_state')
    .insert(row)
    .onConflict(['room_id', 'type', 'state_key'])
    .merge(['event_id', 'stream_ordering', 'membership']);
}

export async function currentStateEventId(q: Queryable, roomId: string, type: string, stateKey: string): Promise<string | undefined> {
  const r = await q('current_state').where({ room_id: roomId, type, state_key: stateKey }).first('event_id');
  return r?.event_id;
}

/** Event ids of the current state entries named by (type, state_key) pairs. */
export async function currentStateIds(q: Queryable, roomId: string, keys?: Array<[string, string]>): Promise<CurrentStateRow[]> {
  const query = q<CurrentStateRow>('current_state').where({ room_id: roomId });
  if (keys) {
    if (keys.length === 0) return [];
    query.where((w) => {
      for (const [type, stateKey] of keys) w.orWhere({ type, state_key: stateKey });
    });
  }
  return (await query).map((r) => ({ ...r, stream_ordering: Number(r.stream_ordering) }));
}

/** The rooms a user has the given memberships in, now. */
export async function roomsOfUser(q: Queryable, userId: string, memberships: string[]): Promise<Array<{ room_id: string; membership: string; stream_ordering: number }>> {
  const rows = await q('current_state')
    .where({ type: 'm.room.member', state_key: userId })
    .whereIn('membership', memberships)
    .select('room_id', 'membership', 'stream_ordering');
  return rows.map((r: { room_id: string; membership: string; stream_ordering: string }) => ({ ...r, stream_ordering: Number(r.stream_ordering) }));
}

export async function membershipOf(q: Queryable, roomId: string, userId: string): Promise<string | undefined> {
  const r = await q('current_state').where({ room_id: roomId, type: 'm.room.member', state_key: userId }).first('membership');
  return r?.membership ?? undefined;
}

/** Users with one of the memberships in a room, now. */
export async function roomMembers(q: Queryable, roomId: string, memberships: string[]): Promise<Array<{ user_id: string; membership: string }>> {
  const rows = await q('current_state')
    .where({ room_id: roomId, type: 'm.room.member' })
    .whereIn('membership', memberships)
    .select('state_key', 'membership');
  return rows.map((r: { state_key: string; membership: string }) => ({ user_id: r.state_key, membership: r.membership }));
}

/**
 * Serialises writers of one room until the transaction ends: its state and newest event
 * stay as read while an event is worked out, so writers of different rooms run in parallel.
 * The room's row is locked FOR UPDATE, which also holds off an event stored by a single
 * statement (`insertNextEvent` with `roomShared`, whose row lock FOR KEY SHARE it excludes).
 */
export async function lockRoom(q: Queryable, roomId: string): Promise<void> {
  await q.raw('SELECT 1 FROM rooms WHERE room_id = ? FOR UPDATE', [roomId]);
}

/**
 * The current state events themselves, in one query: those named by (type, state_key) pairs,
 * or every one of the room's (what the room-state cache holds) when no pairs are given.
 */
export async function currentStateEvents(q: Queryable, roomId: string, keys?: Array<[string, string]>): Promise<Pdu[]> {
  if (keys?.length === 0) return [];
  const query = q('current_state as cs').join('events as e', 'e.event_id', 'cs.event_id').where('cs.room_id', roomId);
  if (keys) {
    query.where((w) => {
      for (const [type, stateKey] of keys) w.orWhere({ 'cs.type': type, 'cs.state_key': stateKey });
    });
  }
  const rows = await query.select('e.json');
  return rows.map((r: { json: Pdu | string }) => (typeof r.json === 'string' ? (JSON.parse(r.json) as Pdu) : r.json));
}
