/**
 * The rooms a user has a membership in, as every /sync answer starts from, cached per user.
 *
 * An entry is dropped, in a notifier listener, by every membership event about its user. It
 * may be used for an answer up to events position P only if this process has heard every
 * events position up to P: committed event positions have no holes (a rolled-back allocation
 * is handed out again), so the frontier of contiguous positions heard says which changes
 * have certainly dropped their entries. Positions can be heard out of order — a local commit
 * at N+1 before another process's NOTIFY of N — and an answer beyond the frontier reads the
 * database, as one during a gap in notifications does. A read that raced with a drop is not
 * kept (the cache's mark).
 */
import type { Db } from '../../storage/database.ts';
import * as roomState from '../../storage/roomState.ts';
import { committedPositions } from '../../storage/streams.ts';
import { InvalidatedCache } from '../caches.ts';
import type { OwnRoom } from '../e2ee/deviceLists.ts';
import type { Notice, Notifier } from './notifier.ts';

const MEMBERSHIPS = ['join', 'invite', 'leave', 'ban', 'knock'];

export class OwnRooms {
  private readonly db: Db;
  private readonly cache: InvalidatedCache<OwnRoom[]>;
  /** Every events position up to this one has been heard; undefined while not known. */
  private frontier: number | undefined;
  /** Positions heard above the frontier, waiting for the ones before them. */
  private readonly ahead = new Set<number>();

  /** `start`: the committed events position when this process started listening. */
  constructor(db: Db, notifier: Notifier, maxUsers: number, start: number) {
    this.db = db;
    this.cache = new InvalidatedCache<OwnRoom[]>('own_rooms', maxUsers);
    this.frontier = start;
    notifier.subscribe((n) => this.heard(n));
  }

  /** Every room the user is joined to, invited to, left, was banned from or knocks on. */
  of(userId: string, upTo: number): Promise<OwnRoom[]> {
    const load = () => roomState.roomsOfUser(this.db, userId, MEMBERSHIPS);
    if (this.frontier === undefined || upTo > this.frontier) return load();
    return this.cache.read(userId, load);
  }

  /** The change notifications stopped (false) or are back (true): caching stops, or restarts empty. */
  listening(on: boolean): void {
    this.ahead.clear();
    this.frontier = undefined;
    if (!on) {
      this.cache.disable();
      return;
    }
    this.cache.enable();
    // What was missed meanwhile is all committed by now: the frontier restarts from there.
    void committedPositions(this.db).then((p) => this.advanceTo(p.events ?? 0), () => {});
  }

  private heard(n: Notice): void {
    if (n.stream !== 'events') return;
    if (n.type === 'm.room.member' && n.stateKey) this.cache.invalidateGroup(n.stateKey);
    if (this.frontier === undefined || n.position > this.frontier) this.ahead.add(n.position);
    this.advanceTo(this.frontier);
  }

  private advanceTo(from: number | undefined): void {
    if (from === undefined) return;
    let frontier = Math.max(from, this.frontier ?? 0);
    for (const p of this.ahead) if (p <= frontier) this.ahead.delete(p);
    while (this.ahead.delete(frontier + 1)) frontier++;
    this.frontier = frontier;
  }
}
