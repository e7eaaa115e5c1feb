/**
 * Stored events as clients see them (spec: "ClientEvent"): the PDU's client-facing fields,
 * with unsigned.age, transaction_id (only for the sending device), prev_content for state
 * events and redacted_because for redacted ones, loaded in one batch per response.
 */
import type { Queryable } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';

export interface ClientEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  redacts?: string;
  unsigned: Record<string, unknown>;
}

export interface Viewer {
  userId: string;
  deviceId?: string;
}

export async function toClientEvents(q: Queryable, rows: events.EventRow[], viewer?: Viewer): Promise<ClientEvent[]> {
  const related = await events.getEvents(q, [
    ...new Set(rows.flatMap((r) => [r.replaces_state, r.redacted_by].filter((id): id is string => !!id))),
  ]);
  const byId = new Map(related.map((r) => [r.event_id, r]));
  const now = Date.now();
  // Bundled aggregations (spec: "Aggregations of child events"): the newest edit and the
  // thread summary of each message, so clients need no extra request to show them.
  const bundleable = rows.filter((r) => r.has_relations && r.state_key === null && !r.redacted_by);
  const [edits, threads] = bundleable.length
    ? await Promise.all([events.latestEdits(q, bundleable), events.threadSummaries(q, bundleable.map((r) => r.event_id), viewer?.userId ?? '')])
    : [new Map<string, events.EventRow>(), new Map<string, { count: number; latest: events.EventRow; participated: boolean }>()];
  return rows.map((row) => {
    const pdu = row.json;
    const unsigned: Record<string, unknown> = { age: Math.max(0, now - row.origin_server_ts) };
    if (viewer && row.txn_id && row.sender === viewer.userId && row.txn_device_id === viewer.deviceId) {
      unsigned.transaction_id = row.txn_id;
    }
    const prev = row.replaces_state ? byId.get(row.replaces_state) : undefined;
    if (prev) {
      unsigned.prev_content = prev.json.content;
      unsigned.replaces_state = prev.event_id;
      unsigned.prev_sender = prev.sender;
    }
    const redaction = row.redacted_by ? byId.get(row.redacted_by) : undefined;
    if (redaction) unsigned.redacted_because = plain(redaction, now);
    const relations: Record<string, unknown> = {};
    const edit = edits.get(row.event_id);
    if (edit) relations['m.replace'] = plain(edit, now);
    const thread = threads.get(row.event_id);
    if (thread) {
      relations['m.thread'] = { latest_event: plain(thread.latest, now), count: thread.count, current_user_participated: thread.participated };
    }
    if (Object.keys(relations).length) unsigned['m.relations'] = relations;
    const event: ClientEvent = {
      event_id: row.event_id,
      room_id: row.room_id,
      sender: row.sender,
      type: row.type,
      content: pdu.content,
      origin_server_ts: row.origin_server_ts,
      unsigned,
    };
    if (row.state_key !== null) event.state_key = row.state_key;
    const redacts = pdu.redacts ?? (row.type === 'm.room.redaction' ? (pdu.content.redacts as string | undefined) : undefined);
    if (redacts) event.redacts = redacts;
    return event;
  });
}

/** An event without its own related lookups (for nesting in unsigned). */
function plain(row: events.EventRow, now: number): ClientEvent {
  const event: ClientEvent = {
    event_id: row.event_id, room_id: row.room_id, sender: row.sender, type: row.type,
    content: row.json.content, origin_server_ts: row.origin_server_ts,
    unsigned: { age: Math.max(0, now - row.origin_server_ts) },
  };
  if (row.state_key !== null) event.state_key = row.state_key;
  const redacts = row.json.redacts ?? (row.json.content.redacts as string | undefined);
  if (redacts) event.redacts = redacts;
  return event;
}

/** Stripped state for invites: enough for a client to show what the room is. */
export function strippedState(rows: events.EventRow[]): Array<Pick<ClientEvent, 'type' | 'state_key' | 'content' | 'sender'>> {
  return rows.map((r) => ({ type: r.type, state_key: r.state_key ?? '', content: r.json.content, sender: r.sender }));
}
