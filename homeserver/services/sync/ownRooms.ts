/**
 * The rooms a user has a membership in, as every /sync answer starts from, cached per user.
 *
 * A sync answers up to the notifier's positions, and the notifier advances them only after
 * its listeners have heard the change (this process's own commits, and others' in commit
 * order over LISTEN/NOTIFY). The cache drops a user's entry in such a listener, for every
 * membership event about them, so an answer up to position P never reads an entry older than
 * a membership change at or below P; a read that raced with a drop is not kept (the mark).
 * While the notification connection is down the cache is off, as changes could be missed.
 */
import type { Db } from '../../storage/database.ts';
import * as roomState from '../../storage/roomState.ts';
import { InvalidatedCache } from '../caches.ts';
import type { OwnRoom } from '../e2ee/deviceLists.ts';
import type { Notifier } from './notifier.ts';

const MEMBERSHIPS = ['join', 'invite', 'leave', 'ban', 'knock'];

export class OwnRooms {
  private readonly db: Db;
  private readonly cache: InvalidatedCache<OwnRoom[]>;

  constructor(db: Db, notifier: Notifier, maxUsers: number) {
    this.db = db;
    this.cache = new InvalidatedCache<OwnRoom[]>('own_rooms', maxUsers);
    notifier.subscribe((n) => {
      if (n.type === 'm.room.member' && n.stateKey) this.cache.invalidateGroup(n.stateKey);
    });
  }

  /** Every room the user is joined to, invited to, left, was banned from or knocks on, now. */
  of(userId: string): Promise<OwnRoom[]> {
    return this.cache.read(userId, () => roomState.roomsOfUser(this.db, userId, MEMBERSHIPS));
  }

  /** The change notifications stopped (false) or are back (true): caching stops, or restarts empty. */
  listening(on: boolean): void {
    if (on) this.cache.enable();
    else this.cache.disable();
  }
}
