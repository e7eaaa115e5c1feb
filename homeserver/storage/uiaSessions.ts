/** User-interactive auth sessions: which stages a multi-step request has completed. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface UiaSessionRow {
  session_id: string;
  purpose: string;
  user_id: string | null;
  completed: string[];
  registration_token: string | null;
  created_ts: number;
}

export async function insertUiaSession(q: Queryable, row: Omit<UiaSessionRow, 'completed' | 'registration_token'>): Promise<void> {
  await q('uia_sessions').insert(row);
}

export async function getUiaSession(q: Queryable, sessionId: string, forUpdate = false): Promise<UiaSessionRow | undefined> {
  const query = q<UiaSessionRow>('uia_sessions').where({ session_id: sessionId });
  if (forUpdate) query.forUpdate();
  const r = await query.first();
  return r && { ...r, created_ts: Number(r.created_ts) };
}

export async function updateUiaSession(
  q: Queryable,
  sessionId: string,
  fields: Partial<Pick<UiaSessionRow, 'completed' | 'registration_token' | 'user_id'>>,
): Promise<void> {
  await q('uia_sessions').where({ session_id: sessionId }).update(fields);
}

export async function deleteUiaSession(q: Queryable, sessionId: string): Promise<void> {
  await q('uia_sessions').where({ session_id: sessionId }).delete();
}

export async function deleteExpiredUiaSessions(q: Queryable, createdBefore: number): Promise<number> {
  return affectedRows(await q('uia_sessions').where('created_ts', '<', createdBefore).delete());
}
