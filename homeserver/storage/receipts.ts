/** Read receipts (public and private, threaded or not), the latest per user, type and thread. */
import type { Queryable } from './database.ts';

export interface ReceiptRow {
  room_id: string;
  user_id: string;
  receipt_type: string;
  thread_id: string;
  event_id: string;
  event_stream_ordering: number;
  ts: number;
  stream_position: number;
}

function toRow(r: Record<string, unknown>): ReceiptRow {
  return { ...(r as unknown as ReceiptRow), event_stream_ordering: Number(r.event_stream_ordering), ts: Number(r.ts), stream_position: Number(r.stream_position) };
}

export async function currentReceipt(q: Queryable, roomId: string, userId: string, type: string, threadId: string): Promise<ReceiptRow | undefined> {
  const r = await q('receipts').where({ room_id: roomId, user_id: userId, receipt_type: type, thread_id: threadId }).first();
  return r && toRow(r);
}

export async function putReceipt(q: Queryable, row: ReceiptRow): Promise<void> {
  await q('receipts')
    .insert(row)
    .onConflict(['room_id', 'user_id', 'receipt_type', 'thread_id'])
    .merge(['event_id', 'event_stream_ordering', 'ts', 'stream_position']);
}

/** Receipts of a room changed with `after` < position ≤ `upTo`. */
export async function receiptsBetween(q: Queryable, roomId: string, after: number, upTo: number): Promise<ReceiptRow[]> {
  const rows = await q('receipts').where({ room_id: roomId }).where('stream_position', '>', after).where('stream_position', '<=', upTo);
  return rows.map(toRow);
}

/** Which of the rooms had receipt changes in the window. */
export async function roomsWithReceiptsBetween(q: Queryable, roomIds: string[], after: number, upTo: number): Promise<Set<string>> {
  if (!roomIds.length || upTo <= after) return new Set();
  const rows = await q('receipts').whereIn('room_id', roomIds).where('stream_position', '>', after).where('stream_position', '<=', upTo).distinct('room_id');
  return new Set(rows.map((r: { room_id: string }) => r.room_id));
}

/** The newest read position of a user in a room (any read receipt type, main timeline or unthreaded). */
export async function readUpTo(q: Queryable, roomId: string, userId: string): Promise<number> {
  const r = await q('receipts')
    .where({ room_id: roomId, user_id: userId })
    .whereIn('receipt_type', ['m.read', 'm.read.private'])
    .whereIn('thread_id', ['', 'main'])
    .max<{ m: string | null }[]>({ m: 'event_stream_ordering' });
  return Number(r[0]?.m ?? 0);
}
