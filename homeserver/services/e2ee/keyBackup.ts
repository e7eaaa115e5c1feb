/**
 * Server-side key backup (spec: "Server-side key backups"): versions of a user's backup, and
 * the encrypted room keys in the current one. Writes go only to the newest version, so a
 * client holding an old one learns it must switch (M_WRONG_ROOM_KEYS_VERSION).
 */
import { errors, MatrixError } from '../../errors.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as backup from '../../storage/keyBackup.ts';

export type RoomKey = Omit<backup.RoomKeyRow, 'room_id' | 'session_id'>;
export type RoomKeys = Record<string, { sessions: Record<string, RoomKey> }>;

export interface BackupInfo {
  algorithm: string;
  auth_data: Record<string, unknown>;
  count: number;
  etag: string;
  version: string;
}

/** Version strings are decimal numbers here; anything else names no backup. */
function parseVersion(version: string): number | undefined {
  return /^[1-9]\d{0,14}$/.test(version) ? Number(version) : undefined;
}

/** Spec: a verified key beats an unverified one, then the lower first index, then fewer forwards. */
function isBetter(candidate: RoomKey, existing: RoomKey): boolean {
  if (candidate.is_verified !== existing.is_verified) return candidate.is_verified;
  if (candidate.first_message_index !== existing.first_message_index) return candidate.first_message_index < existing.first_message_index;
  return candidate.forwarded_count < existing.forwarded_count;
}

export class KeyBackupService {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async createVersion(userId: string, algorithm: string, authData: Record<string, unknown>): Promise<string> {
    return String(await this.db.transaction((trx) => backup.createVersion(trx, userId, algorithm, authData)));
  }

  /** The newest version, or the one named. */
  async info(userId: string, version?: string): Promise<BackupInfo> {
    const row = await this.find(this.db, userId, version);
    return {
      algorithm: row.algorithm, auth_data: row.auth_data, count: await backup.countKeys(this.db, userId, row.version),
      etag: String(row.etag), version: String(row.version),
    };
  }

  async updateVersion(userId: string, version: string, body: { algorithm: string; auth_data: Record<string, unknown>; version?: string }): Promise<void> {
    if (body.version !== undefined && body.version !== version) throw errors.invalidParam('The version in the body does not match the path.');
    const row = await this.find(this.db, userId, version);
    if (body.algorithm !== row.algorithm) throw errors.invalidParam('A backup\'s algorithm cannot change; create a new version.');
    await backup.updateVersion(this.db, userId, row.version, body.auth_data);
  }

  async deleteVersion(userId: string, version: string): Promise<void> {
    const row = await this.find(this.db, userId, version);
    await this.db.transaction((trx) => backup.deleteVersion(trx, userId, row.version));
  }

  /** Stores keys where they beat what is stored; only into the newest version. */
  async putKeys(userId: string, version: string, rooms: RoomKeys): Promise<{ etag: string; count: number }> {
    return this.db.transaction(async (trx) => {
      const row = await this.current(trx, userId, version);
      let changed = false;
      for (const [roomId, { sessions }] of Object.entries(rooms)) {
        for (const [sessionId, key] of Object.entries(sessions)) {
          const [existing] = await backup.getKeys(trx, userId, row.version, roomId, sessionId);
          if (existing && !isBetter(key, existing)) continue;
          await backup.putKey(trx, userId, row.version, { room_id: roomId, session_id: sessionId, ...key });
          changed = true;
        }
      }
      if (changed) await backup.bumpEtag(trx, userId, row.version);
      return { etag: String(row.etag + (changed ? 1 : 0)), count: await backup.countKeys(trx, userId, row.version) };
    });
  }

  async getKeys(userId: string, version: string, roomId?: string, sessionId?: string): Promise<backup.RoomKeyRow[]> {
    const row = await this.find(this.db, userId, version);
    const keys = await backup.getKeys(this.db, userId, row.version, roomId, sessionId);
    if (sessionId !== undefined && keys.length === 0) throw errors.notFound('No room key found for this session.');
    return keys;
  }

  async deleteKeys(userId: string, version: string, roomId?: string, sessionId?: string): Promise<{ etag: string; count: number }> {
    return this.db.transaction(async (trx) => {
      const row = await this.current(trx, userId, version);
      const removed = await backup.deleteKeys(trx, userId, row.version, roomId, sessionId);
      if (removed) await backup.bumpEtag(trx, userId, row.version);
      return { etag: String(row.etag + (removed ? 1 : 0)), count: await backup.countKeys(trx, userId, row.version) };
    });
  }

  private async find(q: Queryable, userId: string, version?: string): Promise<backup.BackupVersionRow> {
    const n = version === undefined ? undefined : parseVersion(version);
    const row = version !== undefined && n === undefined ? undefined : await backup.getVersion(q, userId, n);
    if (!row) throw errors.notFound(version === undefined ? 'No current backup version.' : 'Unknown backup version.');
    return row;
  }

  /** The named version, which must be the newest one to be written to. */
  private async current(q: Queryable, userId: string, version: string): Promise<backup.BackupVersionRow> {
    const newest = await backup.getVersion(q, userId, undefined, true);
    if (!newest) throw errors.notFound('No current backup version.');
    if (String(newest.version) !== version) {
      throw new MatrixError(403, 'M_WRONG_ROOM_KEYS_VERSION', 'Wrong backup version.', { current_version: String(newest.version) });
    }
    return newest;
  }
}
