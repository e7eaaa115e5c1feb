/**
 * The Janus room of each voice channel, shared by every server process on the database (one
 * Janus room per channel, whichever process a client's signaling reaches).
 */
import type { Queryable } from './database.ts';

export interface JanusRoomRow {
  room: number;
  pin: string;
  secret: string;
}

export async function get(q: Queryable, roomId: string): Promise<JanusRoomRow | undefined> {
  const row = await q('voice_janus_rooms').where({ room_id: roomId }).first('janus_room', 'pin', 'secret');
  return row ? { room: Number(row.janus_room), pin: row.pin, secret: row.secret } : undefined;
}

/** Records the channel's room unless another process did first; true if this one was stored. */
export async function insertIfAbsent(q: Queryable, roomId: string, room: JanusRoomRow): Promise<boolean> {
  const inserted = await q('voice_janus_rooms')
    .insert({ room_id: roomId, janus_room: room.room, pin: room.pin, secret: room.secret, created_ts: Date.now() })
    .onConflict('room_id')
    .ignore()
    .returning('room_id');
  return inserted.length > 0;
}
