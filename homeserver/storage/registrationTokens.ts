/** Registration tokens (invite codes) and how many registrations each has carried. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface RegistrationTokenRow {
  token: string;
  uses_allowed: number | null;
  completed: number;
  expiry_time: number | null;
  created_ts: number;
  created_by: string | null;
  revoked: boolean;
}

export interface RegistrationTokenWithPending extends RegistrationTokenRow {
  /** Unfinished registrations holding this token (live UIA sessions). */
  pending: number;
}

function toRow(r: Record<string, unknown>): RegistrationTokenWithPending {
  return {
    token: r.token as string,
    uses_allowed: r.uses_allowed == null ? null : Number(r.uses_allowed),
    completed: Number(r.completed),
    expiry_time: r.expiry_time == null ? null : Number(r.expiry_time),
    created_ts: Number(r.created_ts),
    created_by: (r.created_by as string | null) ?? null,
    revoked: Boolean(r.revoked),
    pending: Number(r.pending ?? 0),
  };
}

function withPending(q: Queryable, liveSince: number) {
  return q('registration_tokens as t').select(
    't.*',
    q.raw(
      '(SELECT count(*) FROM uia_sessions s WHERE s.registration_token = t.token AND s.created_ts > ?) AS pending',
      [liveSince],
    ),
  );
}

export async function getRegistrationToken(
  q: Queryable,
  token: string,
  liveSince: number,
  forUpdate = false,
): Promise<RegistrationTokenWithPending | undefined> {
  if (forUpdate) {
    // Lock first, count after: a statement that waited for the lock still counts pending
    // sessions with the snapshot it took before waiting (READ COMMITTED), missing the
    // session the lock holder just added. The next statement sees it.
    await q('registration_tokens').where({ token }).forUpdate().first('token');
  }
  const r = await withPending(q, liveSince).where('t.token', token).first();
  return r && toRow(r);
}

export async function listRegistrationTokens(q: Queryable, liveSince: number): Promise<RegistrationTokenWithPending[]> {
  return (await withPending(q, liveSince).orderBy('t.created_ts')).map(toRow);
}

export async function insertRegistrationToken(q: Queryable, row: Omit<RegistrationTokenRow, 'completed' | 'revoked'>): Promise<void> {
  await q('registration_tokens').insert(row);
}

export async function revokeRegistrationToken(q: Queryable, token: string): Promise<boolean> {
  return affectedRows(await q('registration_tokens').where({ token }).update({ revoked: true })) > 0;
}

export async function incrementRegistrationTokenCompleted(q: Queryable, token: string): Promise<void> {
  await q('registration_tokens').where({ token }).increment('completed', 1);
}
