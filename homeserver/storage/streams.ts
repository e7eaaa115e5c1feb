/** Stream positions: allocation under the stream's row lock, and what has committed. */
import type { Queryable } from './database.ts';

export type StreamName = 'events' | 'account_data' | 'receipts' | 'typing' | 'to_device' | 'device_lists' | 'presence';

/**
 * Takes the next position. The row stays locked until the caller's transaction ends, so
 * positions commit in the order they are handed out: no reader can see N+1 before N.
 */
export async function allocatePosition(trx: Queryable, stream: StreamName): Promise<number> {
  const [row] = await trx('stream_positions').where({ stream }).increment('position', 1).returning('position');
  return Number(row.position);
}

export async function committedPositions(q: Queryable): Promise<Record<string, number>> {
  const rows = await q('stream_positions').select('stream', 'position');
  return Object.fromEntries(rows.map((r: { stream: string; position: string }) => [r.stream, Number(r.position)]));
}
