/** Access and refresh tokens, stored only as SHA-256 hashes of the random token. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface AccessTokenLookup {
  id: number;
  user_id: string;
  device_id: string;
  expires_ts: number | null;
  refresh_token_id: number | null;
  used: boolean;
  is_admin: boolean;
  deactivated: boolean;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  last_seen_user_agent: string | null;
}

export interface RefreshTokenRow {
  id: number;
  token_hash: string;
  user_id: string;
  device_id: string;
  created_ts: number;
  next_id: number | null;
  spent: boolean;
}

const num = (v: unknown): number | null => (v == null ? null : Number(v));

/** The token's session with what every authenticated request needs, in one query. */
export async function findAccessToken(q: Queryable, tokenHash: string): Promise<AccessTokenLookup | undefined> {
  const r = await q('access_tokens as a')
    .join('devices as d', function () {
      this.on('d.user_id', 'a.user_id').andOn('d.device_id', 'a.device_id');
    })
    .join('users as u', 'u.user_id', 'a.user_id')
    .where('a.token_hash', tokenHash)
    .first(
      'a.id', 'a.user_id', 'a.device_id', 'a.expires_ts', 'a.refresh_token_id', 'a.used',
      'u.is_admin', 'u.deactivated', 'd.last_seen_ts', 'd.last_seen_ip', 'd.last_seen_user_agent',
    );
  if (!r) return undefined;
  return {
    ...r,
    id: Number(r.id),
    expires_ts: num(r.expires_ts),
    refresh_token_id: num(r.refresh_token_id),
    last_seen_ts: num(r.last_seen_ts),
  };
}

export async function insertAccessToken(
  q: Queryable,
  row: { token_hash: string; user_id: string; device_id: string; created_ts: number; expires_ts: number | null; refresh_token_id: number | null },
): Promise<void> {
  await q('access_tokens').insert({ ...row, used: row.refresh_token_id == null });
}

export async function markAccessTokenUsed(q: Queryable, id: number): Promise<boolean> {
  return affectedRows(await q('access_tokens').where({ id, used: false }).update({ used: true })) > 0;
}

export async function deleteAccessTokenByHash(q: Queryable, tokenHash: string): Promise<void> {
  await q('access_tokens').where({ token_hash: tokenHash }).delete();
}

/** Removes the access tokens issued alongside the given refresh tokens. */
export async function deleteAccessTokensOfRefreshTokens(q: Queryable, refreshIds: number[]): Promise<void> {
  if (refreshIds.length) await q('access_tokens').whereIn('refresh_token_id', refreshIds).delete();
}

export async function insertRefreshToken(
  q: Queryable,
  row: { token_hash: string; user_id: string; device_id: string; created_ts: number },
): Promise<number> {
  const [r] = await q('refresh_tokens').insert(row).returning('id');
  return Number(r.id);
}

/** Locks the row: two concurrent refreshes of one token must not both succeed. */
export async function findRefreshTokenForUpdate(q: Queryable, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  const r = await q<RefreshTokenRow>('refresh_tokens').where({ token_hash: tokenHash }).forUpdate().first();
  return r && { ...r, id: Number(r.id), created_ts: Number(r.created_ts), next_id: num(r.next_id) };
}

export async function setRefreshTokenNext(q: Queryable, id: number, nextId: number): Promise<void> {
  await q('refresh_tokens').where({ id }).update({ next_id: nextId });
}

export async function deleteRefreshTokens(q: Queryable, ids: number[]): Promise<void> {
  if (ids.length) await q('refresh_tokens').whereIn('id', ids).delete();
}

/**
 * The successor was used: its parent is spent (kept, so a later replay is recognised as
 * reuse) and the parent's own access token stops working.
 */
export async function spendRefreshTokenParentOf(q: Queryable, childId: number): Promise<void> {
  const parents = await q('refresh_tokens').where({ next_id: childId, spent: false }).update({ spent: true }).returning('id');
  await deleteAccessTokensOfRefreshTokens(q, parents.map((p: { id: unknown }) => Number(p.id)));
}

export async function deleteTokensOfDevice(q: Queryable, userId: string, deviceId: string): Promise<void> {
  await q('access_tokens').where({ user_id: userId, device_id: deviceId }).delete();
  await q('refresh_tokens').where({ user_id: userId, device_id: deviceId }).delete();
}
