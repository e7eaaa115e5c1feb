/** Bound email addresses and their validation sessions. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface ThreepidRow {
  user_id: string;
  medium: string;
  address: string;
  validated_ts: number;
  added_ts: number;
}

export interface ThreepidSessionRow {
  sid: string;
  client_secret: string;
  medium: string;
  address: string;
  purpose: 'add' | 'reset';
  token_hash: string;
  send_attempt: number;
  created_ts: number;
  validated_ts: number | null;
}

const bound = (r: ThreepidRow): ThreepidRow => ({ ...r, validated_ts: Number(r.validated_ts), added_ts: Number(r.added_ts) });
const session = (r: ThreepidSessionRow): ThreepidSessionRow => ({
  ...r, send_attempt: Number(r.send_attempt), created_ts: Number(r.created_ts), validated_ts: r.validated_ts == null ? null : Number(r.validated_ts),
});

export async function threepidsOf(q: Queryable, userId: string): Promise<ThreepidRow[]> {
  return (await q<ThreepidRow>('user_threepids').where('user_id', userId).orderBy('added_ts')).map(bound);
}

export async function ownerOf(q: Queryable, medium: string, address: string): Promise<string | undefined> {
  const row = await q<ThreepidRow>('user_threepids').where({ medium, address }).first();
  return row?.user_id;
}

/** Binds an address; false when someone holds it already. */
export async function bindThreepid(q: Queryable, row: ThreepidRow): Promise<boolean> {
  const inserted = await q('user_threepids').insert(row).onConflict(['medium', 'address']).ignore().returning('user_id');
  return (inserted as unknown[]).length > 0;
}

export async function unbindThreepid(q: Queryable, userId: string, medium: string, address: string): Promise<boolean> {
  return affectedRows(await q('user_threepids').where({ user_id: userId, medium, address }).delete()) > 0;
}

export async function findSession(q: Queryable, clientSecret: string, address: string, purpose: ThreepidSessionRow['purpose']): Promise<ThreepidSessionRow | undefined> {
  const row = await q<ThreepidSessionRow>('threepid_sessions').where({ client_secret: clientSecret, address, purpose }).first();
  return row && session(row);
}

export async function getSession(q: Queryable, sid: string): Promise<ThreepidSessionRow | undefined> {
  const row = await q<ThreepidSessionRow>('threepid_sessions').where('sid', sid).first();
  return row && session(row);
}

export async function upsertSession(q: Queryable, row: ThreepidSessionRow): Promise<void> {
  await q('threepid_sessions').insert(row).onConflict('sid').merge(['token_hash', 'send_attempt', 'created_ts']);
}

export async function markValidated(q: Queryable, sid: string, ts: number): Promise<void> {
  await q('threepid_sessions').where('sid', sid).whereNull('validated_ts').update({ validated_ts: ts });
}

export async function deleteSession(q: Queryable, sid: string): Promise<void> {
  await q('threepid_sessions').where('sid', sid).delete();
}

/** Every reset session for the addresses of one account. */
export async function deleteResetSessionsOf(q: Queryable, userId: string): Promise<void> {
  await q('threepid_sessions')
    .where('purpose', 'reset')
    .whereIn('address', q('user_threepids').select('address').where('user_id', userId))
    .delete();
}

export async function deleteSessionsBefore(q: Queryable, ts: number): Promise<number> {
  return affectedRows(await q('threepid_sessions').where('created_ts', '<', ts).delete());
}
