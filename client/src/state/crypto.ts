/**
 * End-to-end encryption over matrix-js-sdk's Rust crypto: starting it (the sdk imports the
 * crypto code and its WASM lazily, so the bundler puts them in a chunk the sign-in page never
 * loads), what the views ask (is this room encrypted, is a message still waiting for its key),
 * secure backup (cross-signing + secret storage + server-side key backup behind one recovery
 * key) and restoring from that key on a new session.
 */
import { MatrixEventEvent, type ICreateRoomStateEvent, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { CryptoEvent, decodeRecoveryKey, type CryptoCallbacks } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { withUia, type UiaPrompt } from './uia.ts';

export const MEGOLM = 'm.megolm.v1.aes-sha2';

/** What stands for a message this session cannot decrypt (yet). */
export const WAITING_FOR_KEY = 'Waiting for the key to this message…';

/** The createRoom initial_state entry that makes a room encrypted from its first event (as Element does for DMs). */
export function encryptionStateEvent(): ICreateRoomStateEvent {
  return { type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } };
}

/** Where this session's backup stands: none on the server, one this session cannot read yet, or one it uses. */
export type BackupStatus = 'off' | 'needs-recovery-key' | 'on';

export class RecoveryKeyError extends Error {}

/** The IndexedDB name prefix of a session's crypto store: per device, so signing in again never meets another device's keys. */
function storePrefix(deviceId: string): string {
  return `whisper-crypto:${deviceId}`;
}

export class EncryptionState {
  /**
   * Give these to createClient: secret storage asks them for its key while setting up backup
   * (the key just made) and while restoring (the key the user typed). Held only in memory.
   */
  readonly callbacks: CryptoCallbacks;
  /** Set once Rust crypto runs; undefined where it could not start (the app still works, unencrypted). */
  client?: MatrixClient;
  startError?: string;
  backup: BackupStatus = 'off';
  private secretKey?: Uint8Array<ArrayBuffer>;
  private readonly onChange: () => void;

  constructor(onChange: () => void = () => {}) {
    this.onChange = onChange;
    this.callbacks = {
      getSecretStorageKey: async ({ keys }) => {
        const key = this.secretKey;
        if (!key) return null;
        for (const [keyId, info] of Object.entries(keys)) {
          if (await this.client?.secretStorage.checkKey(key, info as never)) return [keyId, key];
        }
        throw new RecoveryKeyError('That recovery key does not match this account’s backup');
      },
      cacheSecretStorageKey: (_keyId, _info, key) => { this.secretKey = key; },
    };
  }

  /**
   * Starts Rust crypto on `client` (before its sync starts, so no to-device message is missed).
   * `persist` keeps the keys in IndexedDB so they survive reloads; tests in Node pass false.
   */
  async start(client: MatrixClient, persist = true): Promise<void> {
    try {
      await client.initRustCrypto({ useIndexedDB: persist, cryptoDatabasePrefix: storePrefix(client.getDeviceId()!) });
    } catch (err) {
      this.startError = (err as Error).message;
      this.onChange();
      return;
    }
    this.client = client;
    // A message drawn as "waiting for its key" redraws when the key arrives and it decrypts.
    client.on(MatrixEventEvent.Decrypted, () => this.onChange());
    for (const ev of [CryptoEvent.KeyBackupStatus, CryptoEvent.KeyBackupDecryptionKeyCached] as const) {
      client.on(ev, () => void this.refreshBackupStatus());
    }
    void this.refreshBackupStatus();
  }

  /** Deletes this session's keys from the browser (on sign-out; the client must be stopped). Not awaited by sign-out: IndexedDB waits while any tab still has the store open. */
  async forget(client: MatrixClient): Promise<void> {
    await client.clearStores({ cryptoDatabasePrefix: storePrefix(client.getDeviceId()!) }).catch(() => {});
  }

  isEncrypted(room: Room | null | undefined): boolean {
    return !!room?.hasEncryptionStateEvent();
  }

  /** An encrypted message this session cannot read (yet): the key may still come, by to-device message or from the backup. */
  static isWaitingForKey(ev: MatrixEvent): boolean {
    return ev.isDecryptionFailure() || (ev.isEncrypted() && ev.getType() === 'm.room.encrypted' && !ev.isRedacted());
  }

  async refreshBackupStatus(): Promise<BackupStatus> {
    const crypto = this.client?.getCrypto();
    if (!crypto) return this.backup;
    const info = await crypto.getKeyBackupInfo().catch(() => null);
    const next: BackupStatus = !info ? 'off' : (await crypto.getSessionBackupPrivateKey()) ? 'on' : 'needs-recovery-key';
    if (next !== this.backup) {
      this.backup = next;
      this.onChange();
    }
    return next;
  }

  /**
   * "Set up secure backup" (or reset it, when the recovery key is lost or to make a new one):
   * a new recovery key locking a new secret storage and a new server-side key backup, and the
   * cross-signing keys kept in it. Returns the recovery key, for the user to write down once.
   *
   * Secret storage comes first so the cross-signing keys can be saved into it with the key just
   * made. A session holding the cross-signing private keys keeps that identity; one without
   * them (a new device whose user lost the recovery key) makes a new one, which the server
   * lets replace the old only after the password, asked through `prompt`.
   */
  async setUpSecureBackup(prompt: UiaPrompt): Promise<string> {
    const client = this.requireClient();
    const crypto = client.getCrypto()!;
    let encoded: string | undefined;
    await crypto.bootstrapSecretStorage({
      createSecretStorageKey: async () => {
        const key = await crypto.createRecoveryKeyFromPassphrase();
        encoded = key.encodedPrivateKey;
        this.secretKey = new Uint8Array(key.privateKey);
        return key;
      },
      setupNewSecretStorage: true,
      setupNewKeyBackup: true,
    });
    const local = (await crypto.getCrossSigningStatus()).privateKeysCachedLocally;
    await crypto.bootstrapCrossSigning({
      setupNewCrossSigning: !(local.masterKey && local.selfSigningKey && local.userSigningKey),
      authUploadDeviceSigningKeys: (makeRequest) => withUia(client.getUserId()!, (auth) => makeRequest(auth as never), prompt).then(() => {}),
    });
    await this.refreshBackupStatus();
    if (!encoded) throw new Error('No recovery key was made');
    return encoded;
  }

  /**
   * A new session reads the past: the recovery key unlocks secret storage, which holds the
   * backup key (and the cross-signing keys, which vouch for this session); then every room key
   * in the backup is downloaded, and messages waiting for them decrypt. (Once the backup key is
   * known the sdk also fetches keys for undecryptable messages by itself, so the count of keys
   * this call imported says little; the messages decrypting is what matters.)
   */
  async restoreFromRecoveryKey(recoveryKey: string): Promise<void> {
    const client = this.requireClient();
    const crypto = client.getCrypto()!;
    try {
      this.secretKey = decodeRecoveryKey(recoveryKey.trim());
    } catch {
      throw new RecoveryKeyError('That is not a recovery key: check it was copied completely');
    }
    try {
      await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    } catch (err) {
      this.secretKey = undefined;
      throw err instanceof RecoveryKeyError ? err : new RecoveryKeyError(`The backup could not be unlocked: ${(err as Error).message}`);
    }
    await crypto.checkKeyBackupAndEnable();
    // Cross-sign this session with the keys from secret storage, so others trust it; backup works without it.
    await crypto.bootstrapCrossSigning({}).catch(() => {});
    await crypto.restoreKeyBackup();
    await this.refreshBackupStatus();
  }

  private requireClient(): MatrixClient {
    if (!this.client) throw new Error(this.startError ? `Encryption is not available: ${this.startError}` : 'Encryption is still starting');
    return this.client;
  }
}

/** A message found by searchDecrypted (the shape of ChatState's SearchHit). */
export interface DecryptedHit { eventId: string; roomId: string; sender: string; body: string; ts: number }

/**
 * Search for encrypted rooms: the server holds only ciphertext, so look through the messages
 * this session has loaded and decrypted, newest first.
 */
export function searchDecrypted(rooms: Room[], term: string): DecryptedHit[] {
  const needle = term.trim().toLowerCase();
  if (!needle) return [];
  const hits: DecryptedHit[] = [];
  for (const room of rooms) {
    if (!room.hasEncryptionStateEvent()) continue;
    for (const ev of room.getLiveTimeline().getEvents()) {
      if (ev.getType() !== 'm.room.message' || ev.isRedacted()) continue;
      const body = ev.getContent().body;
      if (typeof body === 'string' && body.toLowerCase().includes(needle)) {
        hits.push({ eventId: ev.getId()!, roomId: room.roomId, sender: ev.getSender()!, body, ts: ev.getTs() });
      }
    }
  }
  return hits.sort((a, b) => b.ts - a.ts);
}

/**
 * Resolves once `ev` is readable: at once for plain events, else when its decryption ends
 * (successfully or not). Live encrypted events reach the timeline before they are decrypted,
 * and what reacts to their content (notifications) must wait for it.
 */
export function whenDecrypted(ev: MatrixEvent): Promise<void> {
  if (ev.getType() !== 'm.room.encrypted' || ev.isDecryptionFailure()) return Promise.resolve();
  return new Promise((resolve) => ev.once(MatrixEventEvent.Decrypted, () => resolve()));
}
