/** Per-user account data, global (room_id '') and per room, with the stream position of each change. */
import type { Queryable } from './database.ts';

export interface AccountDataRow {
  user_id: string;
  room_id: string;
  type: string;
  content: Record<string, unknown>;
  stream_position: number;
}

function toRow(r: Record<string, unknown>): AccountDataRow {
  return {
    ...(r as unknown as AccountDataRow),
    content: typeof r.content === 'string' ? JSON.parse(r.content) : (r.content as Record<string, unknown>),
    stream_position: Number(r.stream_position),
  };
}

export async function putAccountData(q: Queryable, row: AccountDataRow): Promise<void> {
  await q('account_data')
    .insert({ ...row, content: JSON.stringify(row.content) })
    .onConflict(['user_id', 'room_id', 'type'])
    .merge(['content', 'stream_position']);
}

export async function getAccountData(q: Queryable, userId: string, roomId: string, type: string): Promise<AccountDataRow | undefined> {
  const r = await q('account_data').where({ user_id: userId, room_id: roomId, type }).first();
  return r && toRow(r);
}

/** Changes with `after` < position ≤ `upTo` (all of them when after is 0). */
export async function accountDataBetween(q: Queryable, userId: string, after: number, upTo: number): Promise<AccountDataRow[]> {
  const rows = await q('account_data')
    .where({ user_id: userId })
    .where('stream_position', '>', after)
    .where('stream_position', '<=', upTo)
    .orderBy('stream_position');
  return rows.map(toRow);
}

/** Serialises read-modify-write of one account data entry until the transaction ends. */
export async function lockAccountData(q: Queryable, userId: string, roomId: string, type: string): Promise<void> {
  await q.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 1))', [JSON.stringify([userId, roomId, type])]);
}
