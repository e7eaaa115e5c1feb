/** Who is typing where (with an expiry), and the stream positions of typing changes per room. */
import type { Queryable } from './database.ts';

export async function setTyping(q: Queryable, roomId: string, userId: string, expiresTs: number | null): Promise<void> {
  if (expiresTs === null) await q('typing').where({ room_id: roomId, user_id: userId }).delete();
  else await q('typing').insert({ room_id: roomId, user_id: userId, expires_ts: expiresTs }).onConflict(['room_id', 'user_id']).merge(['expires_ts']);
}

export async function markTypingChange(q: Queryable, roomId: string, position: number): Promise<void> {
  await q('typing_changes').insert({ room_id: roomId, stream_position: position }).onConflict('room_id').merge(['stream_position']);
}

export async function typingUsers(q: Queryable, roomId: string, now: number): Promise<string[]> {
  const rows = await q('typing').where({ room_id: roomId }).where('expires_ts', '>', now).orderBy('user_id').select('user_id');
  return rows.map((r: { user_id: string }) => r.user_id);
}

export async function isTyping(q: Queryable, roomId: string, userId: string, now: number): Promise<boolean> {
  return !!(await q('typing').where({ room_id: roomId, user_id: userId }).where('expires_ts', '>', now).first('user_id'));
}

export async function roomsWithTypingChangesBetween(q: Queryable, roomIds: string[], after: number, upTo: number): Promise<Set<string>> {
  if (!roomIds.length || upTo <= after) return new Set();
  const rows = await q('typing_changes').whereIn('room_id', roomIds).where('stream_position', '>', after).where('stream_position', '<=', upTo).select('room_id');
  return new Set(rows.map((r: { room_id: string }) => r.room_id));
}
