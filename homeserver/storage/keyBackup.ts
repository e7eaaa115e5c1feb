/** Server-side room key backup: versions (algorithm + auth data) and the encrypted session keys. */
import type { Queryable } from './database.ts';
import { affectedRows, jsonColumn } from './results.ts';

export interface BackupVersionRow {
  user_id: string;
  version: number;
  algorithm: string;
  auth_data: Record<string, unknown>;
  etag: number;
}

export interface RoomKeyRow {
  room_id: string;
  session_id: string;
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Record<string, unknown>;
}

function toVersion(r: BackupVersionRow): BackupVersionRow {
  return { ...r, version: Number(r.version), etag: Number(r.etag), auth_data: jsonColumn(r.auth_data) };
}

/**
 * The newest live version, or the given one (deleted versions are never answered). `lock`
 * holds its row until the transaction ends, so writers of one backup take turns.
 */
export async function getVersion(q: Queryable, userId: string, version?: number, lock = false): Promise<BackupVersionRow | undefined> {
  const query = q('room_key_backup_versions').where({ user_id: userId, deleted: false });
  if (version !== undefined) query.where({ version });
  if (lock) query.forUpdate();
  const r = await query.orderBy('version', 'desc').first();
  return r && toVersion(r);
}

/** Creates the next version number (numbers are never reused, even after deletion). */
export async function createVersion(q: Queryable, userId: string, algorithm: string, authData: Record<string, unknown>): Promise<number> {
  const [{ max }] = await q('room_key_backup_versions').where({ user_id: userId }).max('version as max');
  const version = Number(max ?? 0) + 1;
  await q('room_key_backup_versions').insert({ user_id: userId, version, algorithm, auth_data: JSON.stringify(authData), etag: 0 });
  return version;
}

export async function updateVersion(q: Queryable, userId: string, version: number, authData: Record<string, unknown>): Promise<void> {
  await q('room_key_backup_versions').where({ user_id: userId, version }).update({ auth_data: JSON.stringify(authData) });
}

export async function deleteVersion(q: Queryable, userId: string, version: number): Promise<boolean> {
  await q('room_keys').where({ user_id: userId, version }).delete();
  return affectedRows(await q('room_key_backup_versions').where({ user_id: userId, version, deleted: false }).update({ deleted: true })) > 0;
}

export async function bumpEtag(q: Queryable, userId: string, version: number): Promise<void> {
  await q('room_key_backup_versions').where({ user_id: userId, version }).increment('etag', 1);
}

export async function countKeys(q: Queryable, userId: string, version: number): Promise<number> {
  const [{ n }] = await q('room_keys').where({ user_id: userId, version }).count('* as n');
  return Number(n);
}

export async function getKeys(q: Queryable, userId: string, version: number, roomId?: string, sessionId?: string): Promise<RoomKeyRow[]> {
  const query = q('room_keys').where({ user_id: userId, version });
  if (roomId !== undefined) query.where({ room_id: roomId });
  if (sessionId !== undefined) query.where({ session_id: sessionId });
  const rows = await query.select('room_id', 'session_id', 'first_message_index', 'forwarded_count', 'is_verified', 'session_data');
  return rows.map((r: RoomKeyRow) => ({ ...r, session_data: jsonColumn(r.session_data) }));
}

export async function putKey(q: Queryable, userId: string, version: number, row: RoomKeyRow): Promise<void> {
  await q('room_keys')
    .insert({ user_id: userId, version, ...row, session_data: JSON.stringify(row.session_data) })
    .onConflict(['user_id', 'version', 'room_id', 'session_id'])
    .merge(['first_message_index', 'forwarded_count', 'is_verified', 'session_data']);
}

export async function deleteKeys(q: Queryable, userId: string, version: number, roomId?: string, sessionId?: string): Promise<number> {
  const query = q('room_keys').where({ user_id: userId, version });
  if (roomId !== undefined) query.where({ room_id: roomId });
  if (sessionId !== undefined) query.where({ session_id: sessionId });
  return affectedRows(await query.delete());
}
