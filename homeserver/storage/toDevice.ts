/** Pending to-device messages per device, and the transaction ids that make sending idempotent. */
import type { Queryable } from './database.ts';
import { affectedRows, jsonColumn } from './results.ts';

export interface ToDeviceRow {
  stream_position: number;
  user_id: string;
  device_id: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

/** Records the transaction; false when it was already sent (the caller then sends nothing). */
export async function claimTxn(q: Queryable, userId: string, deviceId: string, txnId: string): Promise<boolean> {
  const rows = await q('to_device_txns')
    .insert({ user_id: userId, device_id: deviceId, txn_id: txnId, created_ts: Date.now() })
    .onConflict(['user_id', 'device_id', 'txn_id'])
    .ignore()
    .returning('txn_id');
  return rows.length > 0;
}

export async function deleteTxnsBefore(q: Queryable, ts: number): Promise<number> {
  return affectedRows(await q('to_device_txns').where('created_ts', '<', ts).delete());
}

export async function insertMessages(q: Queryable, rows: ToDeviceRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q('to_device_messages').insert(rows.map((r) => ({ ...r, content: JSON.stringify(r.content) })));
}

/** The device's messages in (after, upTo], oldest first. */
export async function messagesFor(q: Queryable, userId: string, deviceId: string, after: number, upTo: number, limit: number): Promise<ToDeviceRow[]> {
  const rows = await q('to_device_messages')
    .where({ user_id: userId, device_id: deviceId })
    .where('stream_position', '>', after)
    .where('stream_position', '<=', upTo)
    .orderBy('stream_position')
    .limit(limit);
  return rows.map((r: ToDeviceRow) => ({ ...r, stream_position: Number(r.stream_position), content: jsonColumn(r.content) }));
}

/** The device has acknowledged everything at or below `upTo`. */
export async function deleteMessagesUpTo(q: Queryable, userId: string, deviceId: string, upTo: number): Promise<void> {
  await q('to_device_messages').where({ user_id: userId, device_id: deviceId }).where('stream_position', '<=', upTo).delete();
}
