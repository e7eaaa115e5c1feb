/** The devices table: one row per signed-in session, with where and when it was last seen. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface DeviceRow {
  user_id: string;
  device_id: string;
  display_name: string | null;
  created_ts: number;
  last_seen_ts: number | null;
  last_seen_ip: string | null;
  last_seen_user_agent: string | null;
}

function toRow(r: DeviceRow): DeviceRow {
  return {
    ...r,
    created_ts: Number(r.created_ts),
    last_seen_ts: r.last_seen_ts == null ? null : Number(r.last_seen_ts),
  };
}

export async function getDevice(q: Queryable, userId: string, deviceId: string): Promise<DeviceRow | undefined> {
  const r = await q<DeviceRow>('devices').where({ user_id: userId, device_id: deviceId }).first();
  return r && toRow(r);
}

export async function listDevices(q: Queryable, userId: string): Promise<DeviceRow[]> {
  const rows = await q<DeviceRow>('devices').where({ user_id: userId }).orderBy('created_ts');
  return rows.map(toRow);
}

/** Creates the device, or keeps an existing one (re-login with the same device_id). */
export async function upsertDevice(
  q: Queryable,
  row: Pick<DeviceRow, 'user_id' | 'device_id' | 'display_name' | 'created_ts' | 'last_seen_ts' | 'last_seen_ip' | 'last_seen_user_agent'>,
): Promise<void> {
  const update: Record<string, unknown> = {
    last_seen_ts: row.last_seen_ts,
    last_seen_ip: row.last_seen_ip,
    last_seen_user_agent: row.last_seen_user_agent,
  };
  if (row.display_name != null) update.display_name = row.display_name;
  await q('devices').insert(row).onConflict(['user_id', 'device_id']).merge(update);
}

export async function updateDeviceDisplayName(
  q: Queryable,
  userId: string,
  deviceId: string,
  displayName: string | null,
): Promise<boolean> {
  return affectedRows(await q('devices').where({ user_id: userId, device_id: deviceId }).update({ display_name: displayName })) > 0;
}

export async function touchDevice(
  q: Queryable,
  userId: string,
  deviceId: string,
  seen: { ts: number; ip: string; userAgent: string | null },
): Promise<void> {
  await q('devices')
    .where({ user_id: userId, device_id: deviceId })
    .update({ last_seen_ts: seen.ts, last_seen_ip: seen.ip, last_seen_user_agent: seen.userAgent });
}

/** Deletes devices (their tokens go with them by cascade). Returns how many went. */
export async function deleteDevices(q: Queryable, userId: string, deviceIds: string[]): Promise<number> {
  if (deviceIds.length === 0) return 0;
  return affectedRows(await q('devices').where({ user_id: userId }).whereIn('device_id', deviceIds).delete());
}

export async function deleteDevicesExcept(q: Queryable, userId: string, keepDeviceId: string | null): Promise<number> {
  const query = q('devices').where({ user_id: userId });
  if (keepDeviceId) query.whereNot({ device_id: keepDeviceId });
  return affectedRows(await query.delete());
}
