/**
 * Sessions are devices: signing in creates a device with an access token (and, when the
 * client asks, an expiring access token plus a rotating refresh token).
 */
import type { Config } from '../config.ts';
import { errors } from '../errors.ts';
import type { Db, Queryable } from '../storage/database.ts';
import * as devices from '../storage/devices.ts';
import * as tokens from '../storage/tokens.ts';
import { hashToken, randomDeviceId, randomToken } from './secrets.ts';
import type { CacheBus, InvalidatedCache } from './caches.ts';
import type { AuditService, AuditSource } from './audit.ts';

/** Who is making an authenticated request. */
export interface Requester {
  userId: string;
  deviceId: string;
  isAdmin: boolean;
  accessTokenHash: string;
}

/** Where a request came from, recorded as the device's last-seen. */
export interface Seen {
  ip: string;
  userAgent: string | null;
}

export interface IssuedSession {
  user_id: string;
  device_id: string;
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

/** Last-seen is written at most this often per device (unless IP or user agent change). */
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;

/** Work that must happen in the same transaction as a change to a user's devices. */
export type DeviceHook = (q: Queryable, userId: string) => Promise<void>;

export class SessionService {
  private readonly db: Db;
  private readonly config: Config;
  /** Token hash → session: the one lookup of every authenticated request (grouped by user). */
  private readonly cache: InvalidatedCache<tokens.AccessTokenLookup>;
  private readonly bus: CacheBus;
  private readonly audit: AuditService;
  private readonly deviceHooks: DeviceHook[] = [];

  constructor(db: Db, config: Config, caches: { bus: CacheBus; tokens: InvalidatedCache<tokens.AccessTokenLookup> }, audit: AuditService) {
    this.db = db;
    this.config = config;
    this.cache = caches.tokens;
    this.bus = caches.bus;
    this.audit = audit;
  }

  /** Runs `hook` inside the transaction of every act that adds, renames or removes devices. */
  onDevicesChanged(hook: DeviceHook): void {
    this.deviceHooks.push(hook);
  }

  private async devicesChanged(q: Queryable, userId: string): Promise<void> {
    for (const hook of this.deviceHooks) await hook(q, userId);
  }

  /** Runs `work` in `q` when it is a transaction, else in a new one. */
  private inTransaction<T>(q: Queryable, work: (trx: Queryable) => Promise<T>): Promise<T> {
    return (q as { isTransaction?: boolean }).isTransaction ? work(q) : this.db.transaction(work);
  }

  /**
   * Records, as part of `q`, that a user's sessions changed: every process drops its cached
   * tokens for the user once `q` commits; this one also does so now.
   */
  async sessionsChanged(q: Queryable, userId: string): Promise<void> {
    await this.bus.invalidate(q, this.cache, userId);
  }

  /** Creates (or reuses) a device and gives it a fresh access token. Runs inside `q`. */
  async createSession(
    q: Queryable,
    userId: string,
    opts: { deviceId?: string; displayName?: string | null; withRefreshToken?: boolean; seen: Seen },
  ): Promise<IssuedSession> {
    const now = Date.now();
    const deviceId = opts.deviceId ?? randomDeviceId();
    await devices.upsertDevice(q, {
      user_id: userId,
      device_id: deviceId,
      display_name: opts.displayName ?? null,
      created_ts: now,
      last_seen_ts: now,
      last_seen_ip: opts.seen.ip,
      last_seen_user_agent: opts.seen.userAgent,
    });
    // Re-using a device id signs that device's previous tokens out (spec: login).
    await tokens.deleteTokensOfDevice(q, userId, deviceId);
    await this.sessionsChanged(q, userId);
    await this.devicesChanged(q, userId);
    return (await this.issueTokens(q, userId, deviceId, opts.withRefreshToken ?? false)).session;
  }

  private async issueTokens(
    q: Queryable,
    userId: string,
    deviceId: string,
    withRefresh: boolean,
  ): Promise<{ session: IssuedSession; refreshId?: number }> {
    const now = Date.now();
    const accessToken = randomToken('wsa');
    if (!withRefresh) {
      await tokens.insertAccessToken(q, {
        token_hash: hashToken(accessToken), user_id: userId, device_id: deviceId,
        created_ts: now, expires_ts: null, refresh_token_id: null,
      });
      return { session: { user_id: userId, device_id: deviceId, access_token: accessToken } };
    }
    const refreshToken = randomToken('wsr');
    const refreshId = await tokens.insertRefreshToken(q, {
      token_hash: hashToken(refreshToken), user_id: userId, device_id: deviceId, created_ts: now,
    });
    const lifetime = this.config.accessTokenLifetimeMs;
    await tokens.insertAccessToken(q, {
      token_hash: hashToken(accessToken), user_id: userId, device_id: deviceId,
      created_ts: now, expires_ts: now + lifetime, refresh_token_id: refreshId,
    });
    return {
      session: { user_id: userId, device_id: deviceId, access_token: accessToken, refresh_token: refreshToken, expires_in_ms: lifetime },
      refreshId,
    };
  }

  /** Resolves an access token to its requester, or throws M_UNKNOWN_TOKEN. */
  async authenticate(accessToken: string, seen: Seen): Promise<Requester> {
    const tokenHash = hashToken(accessToken);
    let row = this.cache.get(tokenHash);
    if (!row) {
      const mark = this.cache.mark();
      row = await tokens.findAccessToken(this.db, tokenHash);
      if (row) this.cache.set(tokenHash, row, mark, row.user_id);
    }
    if (!row || row.deactivated) throw errors.unknownToken(false);
    const now = Date.now();
    if (row.expires_ts != null && row.expires_ts <= now) throw errors.unknownToken(true);
    if (!row.used) {
      // First use of a refreshed token: the refresh token that produced it is now spent.
      const used = row;
      await this.db.transaction(async (trx) => {
        if (await tokens.markAccessTokenUsed(trx, used.id)) {
          await tokens.spendRefreshTokenParentOf(trx, used.refresh_token_id!);
          await this.sessionsChanged(trx, used.user_id);
        }
      });
      used.used = true;
    }
    if (
      row.last_seen_ts == null ||
      now - row.last_seen_ts > LAST_SEEN_WRITE_INTERVAL_MS ||
      row.last_seen_ip !== seen.ip ||
      row.last_seen_user_agent !== seen.userAgent
    ) {
      await devices.touchDevice(this.db, row.user_id, row.device_id, { ts: now, ...seen });
      // The cached row is what the next request compares against.
      Object.assign(row, { last_seen_ts: now, last_seen_ip: seen.ip, last_seen_user_agent: seen.userAgent });
    }
    return { userId: row.user_id, deviceId: row.device_id, isAdmin: row.is_admin, accessTokenHash: tokenHash };
  }

  /**
   * Exchanges a refresh token for a new pair. The old pair keeps working until the new one is
   * used, so a client that lost the response can retry; presenting a token whose successor
   * was already used is reuse (a stolen token), and signs the whole session out.
   */
  async refresh(refreshToken: string, source: AuditSource = {}): Promise<{ outcome: 'ok'; session: IssuedSession } | { outcome: 'reused'; userId: string; deviceId: string }> {
    return this.db.transaction(async (trx) => {
      const row = await tokens.findRefreshTokenForUpdate(trx, hashToken(refreshToken));
      if (!row) throw errors.unknownToken(false);
      if (row.spent) {
        await devices.deleteDevices(trx, row.user_id, [row.device_id]);
        await this.audit.record(trx, row.user_id, 'token.refresh_reuse', { ...source, deviceId: row.device_id });
        await this.sessionsChanged(trx, row.user_id);
        await this.devicesChanged(trx, row.user_id);
        return { outcome: 'reused', userId: row.user_id, deviceId: row.device_id } as const;
      }
      await tokens.spendRefreshTokenParentOf(trx, row.id);
      // A retried exchange replaces the successor handed out before (never used).
      if (row.next_id != null) await tokens.deleteRefreshTokens(trx, [row.next_id]);
      const { session, refreshId } = await this.issueTokens(trx, row.user_id, row.device_id, true);
      await tokens.setRefreshTokenNext(trx, row.id, refreshId!);
      await this.sessionsChanged(trx, row.user_id);
      return { outcome: 'ok', session } as const;
    });
  }

  async logout(requester: Requester, source: AuditSource): Promise<void> {
    await this.db.transaction(async (trx) => {
      await this.deleteDevices(requester.userId, [requester.deviceId], trx);
      await this.audit.record(trx, requester.userId, 'logout', { ...source, deviceId: requester.deviceId });
    });
  }

  /** Signs every session out; `source` records it as the user's own act (others record theirs). */
  async logoutAll(userId: string, q: Queryable = this.db, source?: AuditSource): Promise<void> {
    await this.inTransaction(q, async (trx) => {
      if (source) await this.audit.record(trx, userId, 'logout.all', source);
      if ((await devices.deleteDevicesExcept(trx, userId, null)) > 0) await this.devicesChanged(trx, userId);
      await this.sessionsChanged(trx, userId);
    });
  }

  listDevices(userId: string): Promise<devices.DeviceRow[]> {
    return devices.listDevices(this.db, userId);
  }

  async getDevice(userId: string, deviceId: string): Promise<devices.DeviceRow> {
    const device = await devices.getDevice(this.db, userId, deviceId);
    if (!device) throw errors.notFound('Device not found.');
    return device;
  }

  async renameDevice(userId: string, deviceId: string, displayName: string | null): Promise<void> {
    await this.db.transaction(async (trx) => {
      if (!(await devices.updateDeviceDisplayName(trx, userId, deviceId, displayName))) throw errors.notFound('Device not found.');
      await this.devicesChanged(trx, userId);
    });
  }

  /** Signs devices out; unknown ids are ignored, as the spec asks for delete_devices. */
  async deleteDevices(userId: string, deviceIds: string[], q: Queryable = this.db, source?: AuditSource): Promise<number> {
    return this.inTransaction(q, async (trx) => {
      const n = await devices.deleteDevices(trx, userId, deviceIds);
      if (source && n > 0) await this.audit.record(trx, userId, 'device.delete', source, { devices: deviceIds });
      await this.sessionsChanged(trx, userId);
      if (n > 0) await this.devicesChanged(trx, userId);
      return n;
    });
  }

  async deleteOtherDevices(userId: string, keepDeviceId: string, q: Queryable = this.db): Promise<number> {
    return this.inTransaction(q, async (trx) => {
      const n = await devices.deleteDevicesExcept(trx, userId, keepDeviceId);
      await this.sessionsChanged(trx, userId);
      if (n > 0) await this.devicesChanged(trx, userId);
      return n;
    });
  }
}
