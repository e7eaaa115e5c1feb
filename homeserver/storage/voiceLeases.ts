/**
 * Which server process serves which call: each process holds a lease it renews while it runs,
 * and names itself as the owner of the call state entries (org.whisper.voice.member,
 * org.whisper.stream) of the calls its WebSockets serve.
 */
import type { Queryable } from './database.ts';

export interface CallEntry {
  roomId: string;
  type: string;
  stateKey: string;
}

/** Extends the process's lease if it still runs at `now`; false if it ran out (or never was). */
export async function extend(q: Queryable, processId: string, now: number, expiresTs: number): Promise<boolean> {
  const updated = await q('voice_leases').where({ process_id: processId }).where('expires_ts', '>', now).update({ expires_ts: expiresTs });
  return updated > 0;
}

/** Takes the process's lease until `expiresTs`. */
export async function take(q: Queryable, processId: string, expiresTs: number): Promise<void> {
  await q('voice_leases').insert({ process_id: processId, expires_ts: expiresTs }).onConflict('process_id').merge(['expires_ts']);
}

/** Ends the process's lease and its ownerships (a clean shutdown). */
export async function release(q: Queryable, processId: string): Promise<void> {
  await q('voice_call_owners').where({ process_id: processId }).delete();
  await q('voice_leases').where({ process_id: processId }).delete();
}

export async function own(q: Queryable, processId: string, entry: CallEntry): Promise<void> {
  await q('voice_call_owners')
    .insert({ room_id: entry.roomId, type: entry.type, state_key: entry.stateKey, process_id: processId })
    .onConflict(['room_id', 'type', 'state_key', 'process_id'])
    .ignore();
}

export async function disown(q: Queryable, processId: string, entry: CallEntry): Promise<void> {
  await q('voice_call_owners').where({ room_id: entry.roomId, type: entry.type, state_key: entry.stateKey, process_id: processId }).delete();
}

/** Whether a process with a lease still running at `now` serves the entry. */
export async function hasLiveOwner(q: Queryable, entry: CallEntry, now: number): Promise<boolean> {
  const row = await q('voice_call_owners as o')
    .join('voice_leases as l', 'l.process_id', 'o.process_id')
    .where({ 'o.room_id': entry.roomId, 'o.type': entry.type, 'o.state_key': entry.stateKey })
    .where('l.expires_ts', '>', now)
    .first('o.process_id');
  return row !== undefined;
}

/** Every entry served by a process whose lease runs at `now`, as `room_id type state_key` keys. */
export async function liveOwned(q: Queryable, now: number): Promise<Set<string>> {
  const rows = await q('voice_call_owners as o')
    .join('voice_leases as l', 'l.process_id', 'o.process_id')
    .where('l.expires_ts', '>', now)
    .distinct('o.room_id', 'o.type', 'o.state_key');
  return new Set(rows.map((r: { room_id: string; type: string; state_key: string }) => entryKey({ roomId: r.room_id, type: r.type, stateKey: r.state_key })));
}

export function entryKey(entry: CallEntry): string {
  return JSON.stringify([entry.roomId, entry.type, entry.stateKey]);
}

/** Forgets processes whose lease ran out before `now`, with their ownerships. */
export async function dropExpired(q: Queryable, now: number): Promise<number> {
  const expired = q('voice_leases').where('expires_ts', '<=', now).select('process_id');
  await q('voice_call_owners').whereIn('process_id', expired).delete();
  return q('voice_leases').where('expires_ts', '<=', now).delete();
}
