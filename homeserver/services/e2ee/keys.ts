/**
 * The key directory for end-to-end encryption: device keys, one-time and fallback keys,
 * cross-signing keys and signatures. The server stores and hands out public keys only; it
 * checks that uploads are well-formed and that signatures it is given are true.
 */
import { errors, MatrixError } from '../../errors.ts';
import * as crossSigning from '../../storage/crossSigning.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as deviceKeys from '../../storage/deviceKeys.ts';
import type { CacheBus, InvalidatedCache } from '../caches.ts';
import type { UserIds } from '../userIds.ts';
import type { DeviceListService } from './deviceLists.ts';
import { crossSigningPublicKey, hasValidSignature, type Signed } from './signatures.ts';

type Json = Record<string, unknown>;

export interface KeyUpload {
  deviceKeys?: Json;
  oneTimeKeys?: Record<string, unknown>;
  fallbackKeys?: Record<string, unknown>;
}

export interface KeyQueryResult {
  device_keys: Record<string, Record<string, Json>>;
  master_keys: Record<string, Json>;
  self_signing_keys: Record<string, Json>;
  user_signing_keys: Record<string, Json>;
  failures: Record<string, Json>;
}

export const CROSS_SIGNING_TYPES = ['master', 'self_signing', 'user_signing'] as const;
export type CrossSigningType = (typeof CROSS_SIGNING_TYPES)[number];

const invalidSignature = (msg: string) => new MatrixError(400, 'M_INVALID_SIGNATURE', msg);

/** "algorithm:key_id" → its two parts; undefined when malformed. */
function splitKeyId(id: string): [string, string] | undefined {
  const i = id.indexOf(':');
  return i > 0 && i < id.length - 1 ? [id.slice(0, i), id.slice(i + 1)] : undefined;
}

export type SyncKeyCounts = { counts: Record<string, number>; unusedFallback: string[] };

export class KeyService {
  private readonly db: Db;
  private readonly deviceLists: DeviceListService;
  private readonly userIds: UserIds;
  /** Each device's key counts, which every sync answer carries (grouped by user). */
  private readonly counts: InvalidatedCache<SyncKeyCounts>;
  private readonly bus: CacheBus;

  constructor(deps: { db: Db; deviceLists: DeviceListService; userIds: UserIds; caches: { bus: CacheBus; keyCounts: InvalidatedCache<SyncKeyCounts> } }) {
    this.db = deps.db;
    this.deviceLists = deps.deviceLists;
    this.userIds = deps.userIds;
    this.counts = deps.caches.keyCounts;
    this.bus = deps.caches.bus;
  }

  /** In the transaction of any change to a user's keys or devices: their cached counts go. */
  async keysChanged(q: Queryable, userId: string): Promise<void> {
    await this.bus.invalidate(q, this.counts, userId);
  }

  /** POST /keys/upload: returns the device's one-time key counts after the upload. */
  async upload(userId: string, deviceId: string, upload: KeyUpload): Promise<Record<string, number>> {
    const oneTime = this.parseKeyMap(upload.oneTimeKeys ?? {});
    const fallback = this.parseKeyMap(upload.fallbackKeys ?? {});
    if (upload.deviceKeys) this.checkDeviceKeys(userId, deviceId, upload.deviceKeys);
    return this.db.transaction(async (trx) => {
      if (upload.deviceKeys) {
        const before = await deviceKeys.getDeviceKeys(trx, userId, deviceId);
        const { unsigned: _u, ...keys } = upload.deviceKeys;
        if (JSON.stringify(sortKeys(before)) !== JSON.stringify(sortKeys(keys))) {
          await deviceKeys.putDeviceKeys(trx, userId, deviceId, keys);
          await this.deviceLists.markChanged(userId, trx);
        }
      }
      await deviceKeys.addOneTimeKeys(trx, userId, deviceId, oneTime);
      for (const k of fallback) await deviceKeys.putFallbackKey(trx, userId, deviceId, k.algorithm, k.keyId, k.key);
      if (oneTime.length || fallback.length) await this.keysChanged(trx, userId);
      return deviceKeys.oneTimeKeyCounts(trx, userId, deviceId);
    });
  }

  /** One-time key counts and unused fallback key types, as each sync answer carries them. */
  keyCountsForSync(userId: string, deviceId: string): Promise<SyncKeyCounts> {
    return this.counts.read(`${userId}\u0000${deviceId}`, () => deviceKeys.keyCountsForSync(this.db, userId, deviceId), userId);
  }

  /** POST /keys/query: the devices (all, or those named) and cross-signing keys of each user. */
  async query(requesterId: string, wanted: Record<string, string[]>): Promise<KeyQueryResult> {
    const result: KeyQueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {}, failures: {} };
    const local = Object.keys(wanted).filter((u) => this.userIds.isLocal(u));
    for (const remote of Object.keys(wanted).filter((u) => !this.userIds.isLocal(u))) {
      // No federation: other servers' users cannot be asked.
      result.failures[remote.slice(remote.indexOf(':') + 1)] = { errcode: 'M_UNRECOGNIZED', error: 'This server does not federate.' };
    }
    if (local.length === 0) return result;
    const [devices, csKeys, signatures] = await Promise.all([
      deviceKeys.devicesWithKeys(this.db, local),
      crossSigning.getCrossSigningKeys(this.db, local),
      crossSigning.signaturesFor(this.db, local),
    ]);
    // A signature by another user's key (their user-signing key on this user's master key) is
    // shown only to its signer: who verified whom is their own business.
    const visible = signatures.filter((s) => s.signer_user_id === s.target_user_id || s.signer_user_id === requesterId);
    const withSignatures = (userId: string, targetKeyId: string, object: Json): Json => {
      const extra = visible.filter((s) => s.target_user_id === userId && s.target_key_id === targetKeyId);
      if (extra.length === 0) return object;
      const sigs = structuredClone((object.signatures ?? {}) as Record<string, Record<string, string>>);
      for (const s of extra) (sigs[s.signer_user_id] ??= {})[s.signer_key_id] = s.signature;
      return { ...object, signatures: sigs };
    };
    for (const userId of local) {
      const only = new Set(wanted[userId]);
      const out: Record<string, Json> = {};
      for (const d of devices.filter((x) => x.user_id === userId && x.keys && (only.size === 0 || only.has(x.device_id)))) {
        out[d.device_id] = { ...withSignatures(userId, d.device_id, d.keys!), unsigned: { device_display_name: d.display_name ?? undefined } };
      }
      result.device_keys[userId] = out;
      for (const k of csKeys.filter((x) => x.user_id === userId)) {
        if (k.key_type === 'user_signing' && userId !== requesterId) continue;
        const target = k.key_type === 'master' ? withSignatures(userId, k.public_key, k.keys) : k.keys;
        result[`${k.key_type as CrossSigningType}_keys`][userId] = target;
      }
    }
    return result;
  }

  /**
   * POST /keys/claim: one key per requested device — a one-time key, each handed out once,
   * else the device's fallback key.
   */
  async claim(wanted: Record<string, Record<string, string>>): Promise<{ one_time_keys: Record<string, Record<string, Json>>; failures: Record<string, Json> }> {
    const out: Record<string, Record<string, Json>> = {};
    const failures: Record<string, Json> = {};
    for (const [userId, devices] of Object.entries(wanted)) {
      if (!this.userIds.isLocal(userId)) {
        failures[userId.slice(userId.indexOf(':') + 1)] = { errcode: 'M_UNRECOGNIZED', error: 'This server does not federate.' };
        continue;
      }
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        const key = await this.db.transaction(async (trx) => {
          const claimed = (await deviceKeys.claimOneTimeKey(trx, userId, deviceId, algorithm)) ?? (await deviceKeys.claimFallbackKey(trx, userId, deviceId, algorithm));
          if (claimed) await this.keysChanged(trx, userId);
          return claimed;
        });
        if (key) ((out[userId] ??= {})[deviceId] = { [`${algorithm}:${key.keyId}`]: key.key as Json });
      }
    }
    return { one_time_keys: out, failures };
  }

  /** True when uploading these cross-signing keys replaces keys the user already has. */
  async replacesCrossSigningKeys(userId: string, upload: Partial<Record<CrossSigningType, Json>>): Promise<boolean> {
    const existing = await crossSigning.getCrossSigningKeys(this.db, [userId]);
    if (!existing.some((k) => k.key_type === 'master')) return false;
    return CROSS_SIGNING_TYPES.some((type) => {
      const now = existing.find((k) => k.key_type === type);
      return upload[type] !== undefined && (!now || JSON.stringify(sortKeys(now.keys)) !== JSON.stringify(sortKeys(upload[type])));
    });
  }

  /** POST /keys/device_signing/upload (after UIA where needed). */
  async uploadCrossSigningKeys(userId: string, upload: Partial<Record<CrossSigningType, Json>>): Promise<void> {
    const existing = await crossSigning.getCrossSigningKeys(this.db, [userId]);
    const masterKey = upload.master ?? existing.find((k) => k.key_type === 'master')?.keys;
    if (!masterKey) throw errors.invalidParam('A master key must be uploaded first.');
    const master = this.checkCrossSigningKey(userId, 'master', masterKey);
    const parsed: Array<[CrossSigningType, string, Json]> = [];
    for (const type of CROSS_SIGNING_TYPES) {
      const key = upload[type];
      if (!key) continue;
      const [, publicKey] = this.checkCrossSigningKey(userId, type, key);
      if (type !== 'master' && !hasValidSignature(key as Signed, userId, master[0], master[1])) {
        throw invalidSignature(`The ${type} key is not signed by the master key.`);
      }
      parsed.push([type, publicKey, key]);
    }
    await this.db.transaction(async (trx) => {
      const oldMaster = existing.find((k) => k.key_type === 'master');
      if (upload.master && oldMaster && oldMaster.public_key !== master[1]) {
        // A new identity: what the old keys signed, and signatures on the old master, are void.
        await crossSigning.deleteSignaturesBy(trx, userId, existing.map((k) => `ed25519:${k.public_key}`));
        await crossSigning.deleteSignaturesOn(trx, userId, oldMaster.public_key);
      }
      for (const [type, publicKey, key] of parsed) await crossSigning.putCrossSigningKey(trx, userId, type, publicKey, key);
      await this.deviceLists.markChanged(userId, trx);
    });
  }

  /**
   * POST /keys/signatures/upload: signatures by the requester's keys — their self-signing key
   * on their devices, a device on their master key, their user-signing key on others' master
   * keys. Each is checked; the ones that fail are reported per key.
   */
  async uploadSignatures(requesterId: string, body: Record<string, Record<string, Json>>): Promise<Record<string, Record<string, Json>>> {
    const failures: Record<string, Record<string, Json>> = {};
    const fail = (userId: string, keyId: string, errcode: string, error: string) => ((failures[userId] ??= {})[keyId] = { errcode, error });
    const own = await crossSigning.getCrossSigningKeys(this.db, [requesterId]);
    const ownKey = (type: CrossSigningType) => own.find((k) => k.key_type === type);
    const rows: crossSigning.SignatureRow[] = [];
    const changedUsers = new Set<string>();

    for (const [targetUserId, objects] of Object.entries(body)) {
      const targets = await crossSigning.getCrossSigningKeys(this.db, [targetUserId]);
      const targetMaster = targets.find((k) => k.key_type === 'master');
      for (const [targetKeyId, object] of Object.entries(objects)) {
        const signed = object as Signed;
        const mySigs = Object.entries(signed.signatures?.[requesterId] ?? {});
        if (mySigs.length === 0) {
          fail(targetUserId, targetKeyId, 'M_INVALID_SIGNATURE', 'No signature by the uploader.');
          continue;
        }
        // Which of the requester's keys may sign this target, and what the stored target is.
        let signer: { keyId: string; publicKey: string } | undefined;
        let stored: Json | undefined;
        if (targetUserId === requesterId && targetMaster && targetKeyId === targetMaster.public_key) {
          stored = targetMaster.keys;
          const sig = mySigs.find(([id]) => id.startsWith('ed25519:') && id !== `ed25519:${targetMaster.public_key}`);
          const device = sig && (await deviceKeys.getDeviceKeys(this.db, requesterId, sig[0].slice('ed25519:'.length)));
          const devicePublic = device && (device.keys as Record<string, unknown> | undefined)?.[sig![0]];
          if (sig && typeof devicePublic === 'string') signer = { keyId: sig[0], publicKey: devicePublic };
        } else if (targetUserId === requesterId) {
          stored = await deviceKeys.getDeviceKeys(this.db, requesterId, targetKeyId);
          const ssk = ownKey('self_signing');
          if (ssk) signer = { keyId: `ed25519:${ssk.public_key}`, publicKey: ssk.public_key };
        } else if (targetMaster && targetKeyId === targetMaster.public_key) {
          stored = targetMaster.keys;
          const usk = ownKey('user_signing');
          if (usk) signer = { keyId: `ed25519:${usk.public_key}`, publicKey: usk.public_key };
        }
        if (!stored) {
          fail(targetUserId, targetKeyId, 'M_NOT_FOUND', 'No such key.');
          continue;
        }
        if (!signer) {
          fail(targetUserId, targetKeyId, 'M_MISSING_PARAM', 'The key that must make this signature has not been uploaded.');
          continue;
        }
        // The signature must be over the key as stored: the uploaded copy must be it.
        const { signatures: _a, unsigned: _b, ...uploaded } = signed;
        const { signatures: _c, unsigned: _d, ...known } = stored;
        if (JSON.stringify(sortKeys(uploaded)) !== JSON.stringify(sortKeys(known))) {
          fail(targetUserId, targetKeyId, 'M_INVALID_SIGNATURE', 'The signed object differs from the stored key.');
          continue;
        }
        if (!hasValidSignature(signed, requesterId, signer.keyId, signer.publicKey)) {
          fail(targetUserId, targetKeyId, 'M_INVALID_SIGNATURE', 'Invalid signature.');
          continue;
        }
        rows.push({
          target_user_id: targetUserId, target_key_id: targetKeyId, signer_user_id: requesterId,
          signer_key_id: signer.keyId, signature: signed.signatures![requesterId][signer.keyId],
        });
        changedUsers.add(targetUserId);
      }
    }
    if (rows.length) {
      await this.db.transaction(async (trx) => {
        await crossSigning.putSignatures(trx, rows);
        // Self-signatures concern everyone; a user-signing signature only the signer's devices.
        for (const u of changedUsers) {
          if (u === requesterId) await this.deviceLists.markChanged(u, trx);
          else await this.deviceLists.markSignedBy(requesterId, u, trx);
        }
      });
    }
    return failures;
  }

  private checkDeviceKeys(userId: string, deviceId: string, keys: Json): void {
    if (keys.user_id !== userId || keys.device_id !== deviceId) {
      throw errors.invalidParam('device_keys must be for the device making the request.');
    }
    if (!Array.isArray(keys.algorithms) || typeof keys.keys !== 'object' || keys.keys === null) {
      throw errors.badJson('device_keys needs algorithms and keys.');
    }
    const ed = (keys.keys as Record<string, unknown>)[`ed25519:${deviceId}`];
    if (typeof ed !== 'string' || !hasValidSignature(keys as Signed, userId, `ed25519:${deviceId}`, ed)) {
      throw invalidSignature('device_keys must be signed by the device\'s own ed25519 key.');
    }
  }

  private checkCrossSigningKey(userId: string, type: CrossSigningType, key: Json): [string, string] {
    if (key.user_id !== userId) throw errors.invalidParam(`The ${type} key is for another user.`);
    if (!Array.isArray(key.usage) || !key.usage.includes(type)) throw errors.invalidParam(`The ${type} key must have usage "${type}".`);
    const parsed = crossSigningPublicKey(key as { keys?: Record<string, unknown> });
    if (!parsed) throw errors.invalidParam(`The ${type} key must hold one ed25519 key.`);
    return parsed;
  }

  private parseKeyMap(map: Record<string, unknown>): Array<{ algorithm: string; keyId: string; key: unknown }> {
    return Object.entries(map).map(([id, key]) => {
      const parts = splitKeyId(id);
      if (!parts || id.length > 255) throw errors.invalidParam(`Bad key id ${id.slice(0, 64)}: expected algorithm:key_id.`);
      if (typeof key !== 'string' && (typeof key !== 'object' || key === null || Array.isArray(key))) {
        throw errors.badJson(`Key ${id} must be a string or an object.`);
      }
      return { algorithm: parts[0], keyId: parts[1], key };
    });
  }
}

/** A copy with object keys sorted, for comparing JSON regardless of key order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Json)[k])]));
  }
  return value;
}
