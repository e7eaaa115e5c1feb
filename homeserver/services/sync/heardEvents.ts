/**
 * The events positions this process has heard of, as sync may trust them instead of reading
 * the database: the frontier (every position up to it has been heard) and the notices of the
 * most recent positions below it.
 *
 * Committed event positions have no holes (a rolled-back allocation is handed out again), and
 * every committed event is heard once committed: from this process right after its commit,
 * from others by NOTIFY. Positions can be heard out of order — a local commit at N+1 before
 * another process's NOTIFY of N — so those above the frontier wait until the ones before them
 * arrive. While notifications are down nothing is trusted; when they are back, what was missed
 * is committed by then, and the frontier restarts from the committed position with an empty log.
 */
import type { Db } from '../../storage/database.ts';
import { committedPositions } from '../../storage/streams.ts';
import type { Notice, Notifier } from './notifier.ts';

/** What an incremental sync first needs of a window: which rooms have events, who joined or went. */
export interface WindowOverview {
  roomsWithEvents: Set<string>;
  memberEvents: Array<{ room_id: string; user_id: string; membership: string }>;
}

export class HeardEvents {
  private readonly db: Db;
  /** How many of the newest notices are kept. */
  private readonly keep: number;
  /** Every events position up to this one has been heard; undefined while not known. */
  private frontierAt: number | undefined;
  /** Heard above the frontier, waiting for the positions before them. */
  private readonly ahead = new Map<number, Notice>();
  /** The notices of positions low+1 … frontier, in order (positions are contiguous). */
  private log: Notice[] = [];
  private low: number;
  /** Counts the changes of listening, so a late answer from before the last one is ignored. */
  private epoch = 0;
  private readonly advanceListeners: Array<(n: Notice) => void> = [];

  /** `start`: the committed events position when this process started listening. */
  constructor(db: Db, notifier: Notifier, start: number, keep: number) {
    this.db = db;
    this.keep = Math.max(0, keep);
    this.frontierAt = start;
    this.low = start;
    notifier.subscribe((n) => this.heard(n));
  }

  /** Hears each event as the frontier passes it: in position order, once, none skipped. */
  onAdvance(listener: (n: Notice) => void): void {
    this.advanceListeners.push(listener);
  }

  /** Every events position up to this one has been heard (undefined: not known now). */
  get frontier(): number | undefined {
    return this.frontierAt;
  }

  /** The window's overview for these rooms, or undefined when not every position in it is known here. */
  overview(roomIds: string[], after: number, upTo: number): WindowOverview | undefined {
    const heard = this.window(after, upTo);
    if (!heard) return undefined;
    const wanted = new Set(roomIds);
    const out: WindowOverview = { roomsWithEvents: new Set(), memberEvents: [] };
    for (const n of heard) {
      if (!n.roomId || !wanted.has(n.roomId)) continue;
      out.roomsWithEvents.add(n.roomId);
      if (n.type === 'm.room.member' && n.stateKey !== undefined) {
        out.memberEvents.push({ room_id: n.roomId, user_id: n.stateKey, membership: n.membership ?? '' });
      }
    }
    return out;
  }

  /** The positions of the room's events in (after, upTo], oldest first, or undefined when not every position in it is known here. */
  positionsIn(roomId: string, after: number, upTo: number): number[] | undefined {
    return this.window(after, upTo)?.filter((n) => n.roomId === roomId).map((n) => n.position);
  }

  /** The notices of (after, upTo], when every position in it was heard and is still kept. */
  private window(after: number, upTo: number): Notice[] | undefined {
    if (this.frontierAt === undefined || upTo > this.frontierAt || after < this.low) return undefined;
    return this.log.slice(after - this.low, Math.max(0, upTo - this.low));
  }

  /** Notifications stopped (false) or are back (true). */
  listening(on: boolean): void {
    this.ahead.clear();
    this.log = [];
    this.frontierAt = undefined;
    const epoch = ++this.epoch;
    if (!on) return;
    // What was missed meanwhile is all committed by now: the frontier restarts from there.
    void committedPositions(this.db).then((p) => {
      const start = p.events ?? 0;
      if (epoch !== this.epoch) return;
      this.frontierAt = this.low = start;
      for (const position of this.ahead.keys()) if (position <= start) this.ahead.delete(position);
      this.advance();
    }, () => {});
  }

  private heard(n: Notice): void {
    if (n.stream !== 'events') return;
    // Heard twice (a local commit, then its own NOTIFY) or from before the frontier: known.
    if (this.frontierAt !== undefined && n.position <= this.frontierAt) return;
    this.ahead.set(n.position, n);
    this.advance();
  }

  private advance(): void {
    if (this.frontierAt === undefined) return;
    for (let next = this.ahead.get(this.frontierAt + 1); next; next = this.ahead.get(this.frontierAt + 1)) {
      this.ahead.delete(next.position);
      this.frontierAt = next.position;
      // The log outlives the rows a local commit carries: those are for RecentEventRows.
      const { row: _row, ...bare } = next;
      this.log.push(bare);
      for (const listener of this.advanceListeners) listener(next);
    }
    // Trimmed in batches, not one shift per notice.
    if (this.log.length > this.keep + Math.max(1, this.keep >> 2)) {
      const drop = this.log.length - this.keep;
      this.log = this.log.slice(drop);
      this.low += drop;
    }
  }
}
