/**
 * Which server process serves which call: each process holds a lease it renews while it runs,
 * and names itself as the owner of the call state entries (org.whisper.voice.member,
 * org.whisper.stream) of the calls its WebSockets serve. Lease times are the database's clock,
 * so processes on machines whose clocks differ still agree on whose lease ran out.
 */
import type { Knex } from 'knex';
import type { Queryable } from './database.ts';

export interface CallEntry {
  roomId: string;
  type: string;
  stateKey: string;
}

/** The database's time in milliseconds (clock_timestamp: not frozen at the transaction's start). */
function dbNow(q: Queryable): Knex.Raw {
  return q.raw('(extract(epoch from clock_timestamp()) * 1000)::bigint');
}

function dbIn(q: Queryable, ms: number): Knex.Raw {
  return q.raw('(extract(epoch from clock_timestamp()) * 1000)::bigint + ?', [ms]);
}

/** Extends the process's lease by `leaseMs` if it still runs; false if it ran out (or never was). */
export async function extend(q: Queryable, processId: string, leaseMs: number): Promise<boolean> {
  const updated = await q('voice_leases').where({ process_id: processId }).where('expires_ts', '>', dbNow(q)).update({ expires_ts: dbIn(q, leaseMs) });
  return updated > 0;
}

/** Takes the process's lease for `leaseMs`. */
export async function take(q: Queryable, processId: string, leaseMs: number): Promise<void> {
  await q('voice_leases').insert({ process_id: processId, expires_ts: dbIn(q, leaseMs) }).onConflict('process_id').merge(['expires_ts']);
}

/** Ends the process's lease and its ownerships (a clean shutdown, or a lease found run out). */
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

/** Whether a process whose lease still runs serves the entry. */
export async function hasLiveOwner(q: Queryable, entry: CallEntry): Promise<boolean> {
  const row = await q('voice_call_owners as o')
    .join('voice_leases as l', 'l.process_id', 'o.process_id')
    .where({ 'o.room_id': entry.roomId, 'o.type': entry.type, 'o.state_key': entry.stateKey })
    .where('l.expires_ts', '>', dbNow(q))
    .first('o.process_id');
  return row !== undefined;
}

/** Every entry served by a process whose lease still runs, as entryKey strings. */
export async function liveOwned(q: Queryable): Promise<Set<string>> {
  const rows = await q('voice_call_owners as o')
    .join('voice_leases as l', 'l.process_id', 'o.process_id')
    .where('l.expires_ts', '>', dbNow(q))
    .distinct('o.room_id', 'o.type', 'o.state_key');
  return new Set(rows.map((r: { room_id: string; type: string; state_key: string }) => entryKey({ roomId: r.room_id, type: r.type, stateKey: r.state_key })));
}

export function entryKey(entry: CallEntry): string {
  return JSON.stringify([entry.roomId, entry.type, entry.stateKey]);
}

/** Forgets processes whose lease ran out, with their ownerships (after their calls were ended). */
export async function dropExpired(q: Queryable): Promise<number> {
  const expired = q('voice_leases').where('expires_ts', '<=', dbNow(q)).select('process_id');
  await q('voice_call_owners').whereIn('process_id', expired).delete();
  return q('voice_leases').where('expires_ts', '<=', dbNow(q)).delete();
}
