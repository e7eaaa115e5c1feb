/** TOTP secrets (sealed under the server key by the service) and recovery codes (hashed). */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface TotpRow {
  user_id: string;
  secret: string;
  created_ts: number;
  confirmed_ts: number | null;
  last_time_step: number;
}

const toRow = (r: TotpRow): TotpRow => ({
  ...r, created_ts: Number(r.created_ts), confirmed_ts: r.confirmed_ts == null ? null : Number(r.confirmed_ts), last_time_step: Number(r.last_time_step),
});

export async function getTotp(q: Queryable, userId: string): Promise<TotpRow | undefined> {
  const row = await q<TotpRow>('totp_secrets').where('user_id', userId).first();
  return row && toRow(row);
}

/** A new pending secret, replacing a pending one; never an enabled one. */
export async function putPendingTotp(q: Queryable, userId: string, secret: string, ts: number): Promise<void> {
  await q('totp_secrets')
    .insert({ user_id: userId, secret, created_ts: ts, confirmed_ts: null, last_time_step: 0 })
    .onConflict('user_id')
    .merge(['secret', 'created_ts', 'confirmed_ts', 'last_time_step']);
}

// starts_with, not LIKE: key ids are base64url, and '_' is a LIKE wildcard.

/** A secret sealed (starts with `sealedPrefix`) under another key than ours (`ownPrefix`), if any. */
export async function secretUnderOtherKey(q: Queryable, sealedPrefix: string, ownPrefix: string): Promise<{ user_id: string; secret: string } | undefined> {
  return q('totp_secrets').whereRaw('starts_with(secret, ?)', [sealedPrefix]).whereRaw('NOT starts_with(secret, ?)', [ownPrefix]).first('user_id', 'secret');
}

/** Secrets an older server stored in clear (not starting with `sealedPrefix`). */
export async function clearSecrets(q: Queryable, sealedPrefix: string): Promise<Array<{ user_id: string; secret: string }>> {
  return q('totp_secrets').whereRaw('NOT starts_with(secret, ?)', [sealedPrefix]).select('user_id', 'secret');
}

/** Replaces the stored secret only if it is still `from` (another process may have done it). */
export async function replaceSecret(q: Queryable, userId: string, from: string, to: string): Promise<void> {
  await q('totp_secrets').where({ user_id: userId, secret: from }).update({ secret: to });
}

export async function confirmTotp(q: Queryable, userId: string, ts: number, timeStep: number): Promise<boolean> {
  return affectedRows(await q('totp_secrets').where({ user_id: userId }).whereNull('confirmed_ts').update({ confirmed_ts: ts, last_time_step: timeStep })) > 0;
}

/**
 * Accepts a time step only if it is later than the last one accepted: of two requests with
 * the same code, one wins (the row is updated once), so a code cannot be replayed.
 */
export async function advanceTimeStep(q: Queryable, userId: string, timeStep: number): Promise<boolean> {
  return affectedRows(await q('totp_secrets').where('user_id', userId).where('last_time_step', '<', timeStep).update({ last_time_step: timeStep })) > 0;
}

export async function deleteTotp(q: Queryable, userId: string): Promise<void> {
  await q('totp_secrets').where('user_id', userId).delete();
  await q('recovery_codes').where('user_id', userId).delete();
}

export async function replaceRecoveryCodes(q: Queryable, userId: string, hashes: string[]): Promise<void> {
  await q('recovery_codes').where('user_id', userId).delete();
  await q('recovery_codes').insert(hashes.map((code_hash) => ({ user_id: userId, code_hash, used_ts: null })));
}

/** Marks a code used, once: false when it is unknown or already spent. */
export async function useRecoveryCode(q: Queryable, userId: string, hash: string, ts: number): Promise<boolean> {
  return affectedRows(await q('recovery_codes').where({ user_id: userId, code_hash: hash }).whereNull('used_ts').update({ used_ts: ts })) > 0;
}

export async function countUnusedRecoveryCodes(q: Queryable, userId: string): Promise<number> {
  const row = await q('recovery_codes').where('user_id', userId).whereNull('used_ts').count<{ n: string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}
