/** The users table: accounts and their profile fields. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface UserRow {
  user_id: string;
  localpart: string;
  password_hash: string | null;
  is_admin: boolean;
  deactivated: boolean;
  created_ts: number;
  displayname: string | null;
  avatar_url: string | null;
}

function toRow(r: UserRow | undefined): UserRow | undefined {
  return r && { ...r, created_ts: Number(r.created_ts) };
}

export async function getUser(q: Queryable, userId: string): Promise<UserRow | undefined> {
  return toRow(await q<UserRow>('users').where({ user_id: userId }).first());
}

export async function insertUser(q: Queryable, row: UserRow): Promise<void> {
  await q('users').insert(row);
}

export async function countUsers(q: Queryable): Promise<number> {
  const r = await q('users').count<{ n: string }[]>({ n: '*' });
  return Number(r[0].n);
}

/** Serializes registrations so "the first account becomes admin" holds under concurrency. */
export async function lockUsersForRegistration(q: Queryable): Promise<void> {
  await q.raw('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
}

export async function listUsers(q: Queryable): Promise<UserRow[]> {
  const rows = await q<UserRow>('users').orderBy('created_ts').orderBy('user_id');
  return rows.map((r) => toRow(r)!);
}

export async function updateUser(
  q: Queryable,
  userId: string,
  fields: Partial<Pick<UserRow, 'password_hash' | 'is_admin' | 'deactivated' | 'displayname' | 'avatar_url'>>,
): Promise<boolean> {
  return affectedRows(await q('users').where({ user_id: userId }).update(fields)) > 0;
}
