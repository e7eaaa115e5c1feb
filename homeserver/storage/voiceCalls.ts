/** Reads of the call state in rooms (org.whisper.voice.member and org.whisper.stream state). */
import type { Queryable } from './database.ts';
import type { Pdu } from './events.ts';

export interface CallStateRow {
  roomId: string;
  type: string;
  stateKey: string;
  content: Record<string, unknown>;
}

function toRow(r: { room_id: string; type: string; state_key: string; json: Pdu | string }): CallStateRow {
  const pdu = (typeof r.json === 'string' ? JSON.parse(r.json) : r.json) as Pdu;
  return { roomId: r.room_id, type: r.type, stateKey: r.state_key, content: (pdu.content ?? {}) as Record<string, unknown> };
}

/** Current call state entries of the given types, in one room or everywhere. */
export async function callState(q: Queryable, types: string[], roomId?: string): Promise<CallStateRow[]> {
  const query = q('current_state as cs')
    .join('events as e', 'e.event_id', 'cs.event_id')
    .whereIn('cs.type', types)
    .select('cs.room_id', 'cs.type', 'cs.state_key', 'e.json');
  if (roomId) query.where('cs.room_id', roomId);
  return (await query).map(toRow);
}
