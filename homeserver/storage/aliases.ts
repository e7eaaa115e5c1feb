/** Room aliases (#name:server → room id) and rooms a user has forgotten. */
import type { Queryable } from './database.ts';

export async function getAlias(q: Queryable, alias: string): Promise<{ room_id: string; creator: string } | undefined> {
  return q('room_aliases').where({ alias }).first('room_id', 'creator');
}

/** Returns false when the alias is taken. */
export async function insertAlias(q: Queryable, alias: string, roomId: string, creator: string): Promise<boolean> {
  const rows = await q('room_aliases').insert({ alias, room_id: roomId, creator, created_ts: Date.now() }).onConflict('alias').ignore().returning('alias');
  return rows.length > 0;
}

export async function deleteAlias(q: Queryable, alias: string): Promise<void> {
  await q('room_aliases').where({ alias }).delete();
}

export async function aliasesOf(q: Queryable, roomId: string): Promise<string[]> {
  return (await q('room_aliases').where({ room_id: roomId }).orderBy('alias').select('alias')).map((r: { alias: string }) => r.alias);
}

export async function setForgotten(q: Queryable, userId: string, roomId: string, forgotten: boolean): Promise<void> {
  if (forgotten) await q('room_forgotten').insert({ user_id: userId, room_id: roomId }).onConflict(['user_id', 'room_id']).ignore();
  else await q('room_forgotten').where({ user_id: userId, room_id: roomId }).delete();
}

export async function forgottenRooms(q: Queryable, userId: string): Promise<Set<string>> {
  return new Set((await q('room_forgotten').where({ user_id: userId }).select('room_id')).map((r: { room_id: string }) => r.room_id));
}

export async function setPublished(q: Queryable, roomId: string, published: boolean): Promise<void> {
  await q('rooms').where({ room_id: roomId }).update({ published });
}

export async function publishedRooms(q: Queryable): Promise<string[]> {
  return (await q('rooms').where({ published: true }).orderBy('created_ts').select('room_id')).map((r: { room_id: string }) => r.room_id);
}
