/**
 * Which server process serves which call, so that processes sharing a database never end each
 * other's calls. Each process has a random id and a lease in the database that it renews every
 * third of the lease time; the call state entries (org.whisper.voice.member, org.whisper.stream)
 * its WebSockets serve are recorded as owned by it. A call state entry that says "in the call"
 * with no owner holding a running lease is left over (its process crashed, or the whole server
 * restarted) and is ended by whichever process sweeps first.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logging.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as voiceLeases from '../../storage/voiceLeases.ts';
import type { CallEntry } from '../../storage/voiceLeases.ts';

export class CallLeases {
  readonly processId = randomUUID();
  private readonly db: Db;
  private readonly leaseMs: number;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private ticking: Promise<void> | undefined;

  constructor(db: Db, leaseMs: number, logger: Logger) {
    this.db = db;
    this.leaseMs = leaseMs;
    this.logger = logger;
  }

  /**
   * Takes the lease and keeps renewing it. `lost` runs when a renewal finds the lease ran out
   * (the process stalled longer than the lease: others may have ended its calls), after this
   * process's ownerships were dropped; `sweep` runs after every renewal.
   */
  async start(handlers: { lost: () => Promise<void>; sweep: () => Promise<void> }): Promise<void> {
    await this.renew(handlers.lost);
    await handlers.sweep();
    this.timer = setInterval(() => {
      this.ticking ??= this.renew(handlers.lost)
        .then(() => handlers.sweep())
        .catch((err) => this.logger.warn({ err }, 'voice lease renewal failed'))
        .finally(() => {
          this.ticking = undefined;
        });
    }, Math.max(250, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  private async renew(lost: () => Promise<void>): Promise<void> {
    if (await voiceLeases.extend(this.db, this.processId, this.leaseMs)) return;
    if (this.held) {
      this.logger.warn({ processId: this.processId }, 'voice lease ran out: resetting this process\'s calls');
      await voiceLeases.release(this.db, this.processId);
      await lost();
    }
    await voiceLeases.take(this.db, this.processId, this.leaseMs);
    this.held = true;
  }

  own(entry: CallEntry): Promise<void> {
    return voiceLeases.own(this.db, this.processId, entry);
  }

  disown(entry: CallEntry): Promise<void> {
    return voiceLeases.disown(this.db, this.processId, entry);
  }

  /** Whether a live process serves the entry (checked under the room lock before ending it). */
  hasLiveOwner(q: Queryable, entry: CallEntry): Promise<boolean> {
    return voiceLeases.hasLiveOwner(q, entry);
  }

  /** Keys (voiceLeases.entryKey) of every entry a live process serves. */
  liveOwned(): Promise<Set<string>> {
    return voiceLeases.liveOwned(this.db);
  }

  /** Forgets processes whose lease ran out (after their calls were ended). */
  dropExpired(): Promise<number> {
    return voiceLeases.dropExpired(this.db);
  }

  /** Stops renewing and gives the lease back (a clean shutdown, after its calls ended). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    if (this.held) await voiceLeases.release(this.db, this.processId).catch((err) => this.logger.debug({ err }, 'voice lease not released'));
    this.held = false;
  }
}
