/** Device identity keys, one-time keys and fallback keys, as uploaded by each device. */
import type { Queryable } from './database.ts';
import { jsonColumn } from './results.ts';

export type Json = Record<string, unknown>;

export async function putDeviceKeys(q: Queryable, userId: string, deviceId: string, keys: Json): Promise<void> {
  await q('device_keys').insert({ user_id: userId, device_id: deviceId, keys: JSON.stringify(keys) }).onConflict(['user_id', 'device_id']).merge(['keys']);
}

export async function getDeviceKeys(q: Queryable, userId: string, deviceId: string): Promise<Json | undefined> {
  const r = await q('device_keys').where({ user_id: userId, device_id: deviceId }).first('keys');
  return r ? jsonColumn<Json>(r.keys) : undefined;
}

/** Every device of the given users (all devices when `deviceIds` is empty), with keys when uploaded. */
export async function devicesWithKeys(
  q: Queryable,
  userIds: string[],
): Promise<Array<{ user_id: string; device_id: string; display_name: string | null; keys: Json | null }>> {
  if (userIds.length === 0) return [];
  const rows = await q('devices as d')
    .leftJoin('device_keys as k', function () {
      this.on('k.user_id', 'd.user_id').andOn('k.device_id', 'd.device_id');
    })
    .whereIn('d.user_id', userIds)
    .select('d.user_id', 'd.device_id', 'd.display_name', 'k.keys');
  return rows.map((r: { user_id: string; device_id: string; display_name: string | null; keys: unknown }) => ({
    ...r,
    keys: r.keys == null ? null : jsonColumn<Json>(r.keys),
  }));
}

/** Adds one-time keys; a key id already stored keeps its first value (spec: not replaced). */
export async function addOneTimeKeys(q: Queryable, userId: string, deviceId: string, keys: Array<{ algorithm: string; keyId: string; key: unknown }>): Promise<void> {
  if (keys.length === 0) return;
  const rows = keys.map((k) => ({ user_id: userId, device_id: deviceId, algorithm: k.algorithm, key_id: k.keyId, key: JSON.stringify(k.key) }));
  await q('one_time_keys').insert(rows).onConflict(['user_id', 'device_id', 'algorithm', 'key_id']).ignore();
}

export async function oneTimeKeyCounts(q: Queryable, userId: string, deviceId: string): Promise<Record<string, number>> {
  const rows = await q('one_time_keys').where({ user_id: userId, device_id: deviceId }).groupBy('algorithm').select('algorithm').count('* as n');
  return Object.fromEntries(rows.map((r) => [String(r.algorithm), Number(r.n)]));
}

/** Takes one one-time key of the algorithm, removing it; concurrent claims get different keys. */
export async function claimOneTimeKey(q: Queryable, userId: string, deviceId: string, algorithm: string): Promise<{ keyId: string; key: unknown } | undefined> {
  const result = await q.raw(
    `DELETE FROM one_time_keys WHERE (user_id, device_id, algorithm, key_id) IN (
       SELECT user_id, device_id, algorithm, key_id FROM one_time_keys
       WHERE user_id = ? AND device_id = ? AND algorithm = ? ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING key_id, key`,
    [userId, deviceId, algorithm],
  );
  const row = (result.rows as Array<{ key_id: string; key: unknown }>)[0];
  return row && { keyId: row.key_id, key: jsonColumn(row.key) };
}

export async function putFallbackKey(q: Queryable, userId: string, deviceId: string, algorithm: string, keyId: string, key: unknown): Promise<void> {
  await q('fallback_keys')
    .insert({ user_id: userId, device_id: deviceId, algorithm, key_id: keyId, key: JSON.stringify(key), used: false })
    .onConflict(['user_id', 'device_id', 'algorithm'])
    .merge(['key_id', 'key', 'used']);
}

/** Hands out the fallback key (it stays; a fallback key may be used more than once) and marks it used. */
export async function claimFallbackKey(q: Queryable, userId: string, deviceId: string, algorithm: string): Promise<{ keyId: string; key: unknown } | undefined> {
  const rows = await q('fallback_keys').where({ user_id: userId, device_id: deviceId, algorithm }).update({ used: true }).returning(['key_id', 'key']);
  const row = rows[0] as { key_id: string; key: unknown } | undefined;
  return row && { keyId: row.key_id, key: jsonColumn(row.key) };
}

/**
 * What every sync answer carries about a device's keys, in one round trip: one-time keys left
 * per algorithm, and the algorithms whose fallback key is unused.
 */
export async function keyCountsForSync(q: Queryable, userId: string, deviceId: string): Promise<{ counts: Record<string, number>; unusedFallback: string[] }> {
  const result = await q.raw(
    `SELECT 'otk' AS kind, algorithm, count(*) AS n FROM one_time_keys WHERE user_id = ? AND device_id = ? GROUP BY algorithm
     UNION ALL
     SELECT 'fallback', algorithm, 0 FROM fallback_keys WHERE user_id = ? AND device_id = ? AND used = false`,
    [userId, deviceId, userId, deviceId],
  );
  const rows = result.rows as Array<{ kind: string; algorithm: string; n: string | number }>;
  return {
    counts: Object.fromEntries(rows.filter((r) => r.kind === 'otk').map((r) => [r.algorithm, Number(r.n)])),
    unusedFallback: rows.filter((r) => r.kind === 'fallback').map((r) => r.algorithm).sort(),
  };
}
