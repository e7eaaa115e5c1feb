/**
 * A MatrixClient whose Rust crypto finishes starting after the sync has begun: a new device
 * draws its rooms first and crypto makes its store and keys after (the WASM's compilation, the
 * IndexedDB store's creation and the Olm account take hundreds of milliseconds of a CPU the
 * first render needs too).
 *
 * What the sdk hands crypto from each sync goes through LateSyncCrypto: while crypto starts,
 * a batch without to-device messages (device list changes, one-time key counts, a room's
 * encryption settings) is queued and given to crypto, in order, once it runs; a batch with
 * to-device messages waits for it, so the sync that carries them (and acknowledges them to the
 * server with its next request) is not done before crypto has them. Encrypted events that
 * arrived meanwhile are decrypted once crypto runs, and a message for an encrypted room waits
 * for it rather than failing. If crypto cannot start, the client runs as the sdk does without it.
 */
import { MatrixClient, MatrixScheduler, MemoryStore, type ICreateClientOpts, type IToDeviceEvent, type MatrixEvent, type ReceivedToDeviceMessage, type Room } from 'matrix-js-sdk';
import type { OnSyncCompletedData, SyncCryptoCallbacks, SyncCryptoChanges } from 'matrix-js-sdk/lib/common-crypto/CryptoBackend.js';
import type { SyncApiOptions } from 'matrix-js-sdk/lib/sync.js';

type InitRustCryptoArgs = Parameters<MatrixClient['initRustCrypto']>[0];

/** The sync's view of crypto while it may still be starting (see the file comment). */
export class LateSyncCrypto implements SyncCryptoCallbacks {
  /** Crypto once it has started; undefined when it could not (the sync then runs as the sdk does without it). */
  private readonly started: Promise<SyncCryptoCallbacks | undefined>;
  /** The last queued call: each runs after the ones before it, so crypto sees the syncs in order. */
  private tail: Promise<unknown>;
  private running = false;

  /** Called when a sync cannot go on without crypto: it must start now, whatever it was waiting for. */
  private readonly needed: () => void;

  constructor(started: Promise<SyncCryptoCallbacks | undefined>, needed: () => void = () => {}) {
    this.needed = needed;
    this.started = started.then((crypto) => {
      this.running = true;
      return crypto;
    });
    this.tail = this.started;
  }

  private then<T>(fn: (crypto: SyncCryptoCallbacks | undefined) => Promise<T> | T): Promise<T> {
    const result = this.tail.then(() => this.started).then(fn);
    // A failed call (the sdk logs those it awaits) does not stop the ones after it.
    this.tail = result.catch(() => {});
    return result;
  }

  processSyncChanges(changes: SyncCryptoChanges): Promise<ReceivedToDeviceMessage[]> {
    const result = this.then((crypto) => (crypto ? crypto.processSyncChanges(changes) : plain(changes.toDeviceEvents)));
    if (this.running) return result;
    // Nothing to hand back and nothing the server deletes after this sync: the rooms need not wait.
    if (changes.toDeviceEvents.length === 0) {
      void result.catch(() => {});
      return Promise.resolve([]);
    }
    this.needed();
    return result;
  }

  onCryptoEvent(room: Room, event: MatrixEvent): Promise<void> {
    const result = this.then((crypto) => crypto?.onCryptoEvent(room, event));
    if (this.running) return result;
    void result.catch(() => {});
    return Promise.resolve();
  }

  onSyncCompleted(syncState: OnSyncCompletedData): void {
    void this.then((crypto) => crypto?.onSyncCompleted(syncState)).catch(() => {});
  }

  /** (Sliding sync only.) */
  markAllTrackedUsersAsDirty(): Promise<void> {
    const result = this.then((crypto) => crypto?.markAllTrackedUsersAsDirty());
    if (this.running) return result;
    void result.catch(() => {});
    return Promise.resolve();
  }
}

/** What the sdk does with to-device messages when there is no crypto: passes them on as received. */
function plain(events: IToDeviceEvent[]): ReceivedToDeviceMessage[] {
  return events.map((message) => ({ message, encryptionInfo: null }));
}

export class LateCryptoClient extends MatrixClient {
  /** Settles when crypto has started or failed to; undefined until initRustCrypto is called. */
  private cryptoStarting?: Promise<SyncCryptoCallbacks | undefined>;
  /** What initRustCrypto waits for before it starts its work (see startCryptoAfter). */
  private cryptoGate: Promise<unknown> = Promise.resolve();
  /** Opens the gate at once: a sync is waiting for crypto (to-device messages), and the gate may be that very sync. */
  private needCrypto!: () => void;
  private readonly cryptoNeeded = new Promise<void>((resolve) => { this.needCrypto = resolve; });

  constructor(opts: ICreateClientOpts) {
    // What createClient adds, except the legacy crypto store: this app only ever ran Rust crypto, so there is nothing to migrate.
    super({ ...opts, store: opts.store ?? new MemoryStore({ localStorage: globalThis.localStorage }), scheduler: opts.scheduler ?? new MatrixScheduler() });
  }

  /** Resolves once crypto runs or could not start; at once when it was never asked to. */
  async cryptoSettled(): Promise<void> {
    await this.cryptoStarting;
  }

  /**
   * initRustCrypto, once called (before startClient, so the sync knows crypto is coming), waits
   * for `gate` before it loads and starts anything, or until a sync brings to-device messages.
   */
  startCryptoAfter(gate: Promise<unknown>): void {
    this.cryptoGate = gate;
  }

  override initRustCrypto(args: InitRustCryptoArgs = {}): Promise<void> {
    const starting = Promise.race([this.cryptoGate, this.cryptoNeeded]).then(() => super.initRustCrypto(args));
    this.cryptoStarting = starting.then(
      () => {
        this.decryptArrived();
        return this.getCrypto() as unknown as SyncCryptoCallbacks | undefined;
      },
      () => undefined,
    );
    return starting;
  }

  /** Called by startClient: while crypto is still starting, the sync talks to it through LateSyncCrypto. */
  protected override buildSyncApiOptions(): SyncApiOptions {
    const options = super.buildSyncApiOptions();
    if (options.cryptoCallbacks || !this.cryptoStarting) return options;
    return { ...options, cryptoCallbacks: new LateSyncCrypto(this.cryptoStarting, this.needCrypto) };
  }

  /**
   * A message for an encrypted room waits for crypto instead of failing ("your client does not
   * support encryption"). The sdk's overloads (delayed events, query parameters) pass through as they are.
   */
  protected override async encryptAndSendEvent(room: Room | null, event: MatrixEvent, ...rest: any[]): Promise<any> {
    if (room?.hasEncryptionStateEvent()) await this.cryptoStarting;
    return (super.encryptAndSendEvent as (...a: unknown[]) => Promise<unknown>).call(this, room, event, ...rest);
  }

  /** The encrypted events that reached the rooms before crypto ran: the sdk decrypts only those that arrive once it does. */
  private decryptArrived(): void {
    for (const room of this.getRooms()) {
      const sets = [room.getUnfilteredTimelineSet(), ...room.getThreads().map((t) => t.timelineSet)];
      for (const set of sets) {
        for (const timeline of set.getTimelines()) {
          for (const ev of timeline.getEvents()) if (ev.shouldAttemptDecryption()) void this.decryptEventIfNeeded(ev);
        }
      }
    }
  }
}

/** Waits for crypto to have started (or failed to) where it may still be starting: before deciding whether a new room is encrypted. */
export function cryptoSettled(client: MatrixClient): Promise<void> {
  return client instanceof LateCryptoClient ? client.cryptoSettled() : Promise.resolve();
}
