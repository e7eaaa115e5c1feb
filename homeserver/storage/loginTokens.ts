/** Single-use login tokens, stored hashed. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export async function insertLoginToken(q: Queryable, tokenHash: string, userId: string, expiresTs: number): Promise<void> {
  await q('login_tokens').insert({ token_hash: tokenHash, user_id: userId, expires_ts: expiresTs });
}

/** Takes the token (deleting it, so it works once); undefined when unknown or expired. */
export async function takeLoginToken(q: Queryable, tokenHash: string, now: number): Promise<string | undefined> {
  const rows = await q('login_tokens').where('token_hash', tokenHash).delete().returning(['user_id', 'expires_ts']) as Array<{ user_id: string; expires_ts: string | number }>;
  const row = rows[0];
  return row && Number(row.expires_ts) > now ? row.user_id : undefined;
}

export async function deleteExpiredLoginTokens(q: Queryable, now: number): Promise<number> {
  return affectedRows(await q('login_tokens').where('expires_ts', '<=', now).delete());
}
