/**
 * Who blocked whom, as the hot paths ask it: every stored event asks who blocked its sender
 * (they are not notified), every sync answer asks whom the reader blocked (their messages
 * and unread counts are left out). Both directions are cached per user and dropped, in every
 * process, by the transaction that blocks or unblocks (caches.ts). Knowing that a reader
 * blocked no one — the usual case — lets those reads skip the block filter altogether.
 */
import type { Db, Queryable } from '../../storage/database.ts';
import * as friends from '../../storage/friends.ts';
import { InvalidatedCache, type CacheBus } from '../caches.ts';

export class BlockLists {
  private readonly db: Db;
  private readonly bus: CacheBus;
  /** user → the users they blocked. */
  private readonly blocked: InvalidatedCache<ReadonlySet<string>>;
  /** user → the users who blocked them. */
  private readonly blockers: InvalidatedCache<ReadonlySet<string>>;

  constructor(db: Db, bus: CacheBus, maxUsers: number) {
    this.db = db;
    this.bus = bus;
    this.blocked = bus.register(new InvalidatedCache<ReadonlySet<string>>('blocked_by', maxUsers));
    this.blockers = bus.register(new InvalidatedCache<ReadonlySet<string>>('blockers_of', maxUsers));
  }

  /** The users `userId` blocked. */
  blockedBy(userId: string): Promise<ReadonlySet<string>> {
    return this.blocked.read(userId, () => friends.blockedBy(this.db, userId));
  }

  /** The users who blocked `userId` (read through `q` when not cached: inside a transaction, its own). */
  blockersOf(userId: string, q: Queryable = this.db): Promise<ReadonlySet<string>> {
    return this.blockers.read(userId, () => friends.blockersOf(q, userId));
  }

  /** In the transaction that blocks or unblocks `blockedId` for `userId`. */
  async changed(q: Queryable, userId: string, blockedId: string): Promise<void> {
    await this.bus.invalidate(q, this.blocked, userId);
    await this.bus.invalidate(q, this.blockers, blockedId);
  }
}
