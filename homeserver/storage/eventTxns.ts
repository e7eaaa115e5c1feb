/** Transaction ids of sent events, so a retried send returns the first event. */
import type { Queryable } from './database.ts';

export async function findTxn(q: Queryable, userId: string, deviceId: string, txnId: string): Promise<string | undefined> {
  const r = await q('event_txns').where({ user_id: userId, device_id: deviceId, txn_id: txnId }).first('event_id');
  return r?.event_id;
}

