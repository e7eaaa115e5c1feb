/**
 * The rooms a user has a membership in, as every /sync answer starts from, cached per user.
 *
 * An entry is dropped, in a notifier listener, by every membership event about its user. It
 * may be used for an answer up to events position P only if this process has heard every
 * events position up to P (HeardEvents' frontier): then every change up to P has dropped the
 * entries it concerns. An answer beyond the frontier reads the database, as one during a gap
 * in notifications does. A read that raced with a drop is not kept (the cache's mark).
 */
import type { Db } from '../../storage/database.ts';
import * as roomState from '../../storage/roomState.ts';
import { InvalidatedCache } from '../caches.ts';
import type { OwnRoom } from '../e2ee/deviceLists.ts';
import type { HeardEvents } from './heardEvents.ts';
import type { Notice, Notifier } from './notifier.ts';

const MEMBERSHIPS = ['join', 'invite', 'leave', 'ban', 'knock'];

export class OwnRooms {
  private readonly db: Db;
  private readonly cache: InvalidatedCache<OwnRoom[]>;
  private readonly heard: HeardEvents;

  constructor(db: Db, notifier: Notifier, heard: HeardEvents, maxUsers: number) {
    this.db = db;
    this.heard = heard;
    this.cache = new InvalidatedCache<OwnRoom[]>('own_rooms', maxUsers);
    notifier.subscribe((n) => this.drop(n));
  }

  /** Every room the user is joined to, invited to, left, was banned from or knocks on. */
  of(userId: string, upTo: number): Promise<OwnRoom[]> {
    const load = () => roomState.roomsOfUser(this.db, userId, MEMBERSHIPS);
    const frontier = this.heard.frontier;
    if (frontier === undefined || upTo > frontier) return load();
    return this.cache.read(userId, load);
  }

  /** The change notifications stopped (false) or are back (true): caching stops, or restarts empty. */
  listening(on: boolean): void {
    if (on) this.cache.enable();
    else this.cache.disable();
  }

  private drop(n: Notice): void {
    if (n.stream === 'events' && n.type === 'm.room.member' && n.stateKey) this.cache.invalidateGroup(n.stateKey);
  }
}
