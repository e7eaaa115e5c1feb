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
 * is committed by then, and the frontier restarts from the committed position with nothing kept.
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
  /**
   * What was heard of positions low+1 … frontier (positions are contiguous): each room's
   * positions, and the membership events, in order. A sync asks about its few rooms over a
   * window that, for a client woken rarely, spans thousands of positions.
   */
  private byRoom = new Map<string, number[]>();
  private members: Notice[] = [];
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
    if (!this.covers(after, upTo)) return undefined;
    const out: WindowOverview = { roomsWithEvents: new Set(), memberEvents: [] };
    for (const roomId of roomIds) if (this.inRoom(roomId, after, upTo).length) out.roomsWithEvents.add(roomId);
    if (out.roomsWithEvents.size === 0) return out;
    const from = firstAbove(this.members, after, (n) => n.position);
    for (let i = from; i < this.members.length && this.members[i].position <= upTo; i++) {
      const n = this.members[i];
      if (!out.roomsWithEvents.has(n.roomId!)) continue;
      out.memberEvents.push({ room_id: n.roomId!, user_id: n.stateKey!, membership: n.membership ?? '' });
    }
    return out;
  }

  /** The positions of the room's events in (after, upTo], oldest first, or undefined when not every position in it is known here. */
  positionsIn(roomId: string, after: number, upTo: number): number[] | undefined {
    return this.covers(after, upTo) ? this.inRoom(roomId, after, upTo) : undefined;
  }

  /** Every position in (after, upTo] was heard and is still kept. */
  private covers(after: number, upTo: number): boolean {
    return this.frontierAt !== undefined && upTo <= this.frontierAt && after >= this.low;
  }

  private inRoom(roomId: string, after: number, upTo: number): number[] {
    const positions = this.byRoom.get(roomId);
    if (!positions) return [];
    return positions.slice(firstAbove(positions, after, Number), firstAbove(positions, upTo, Number));
  }

  /** Notifications stopped (false) or are back (true). */
  listening(on: boolean): void {
    this.ahead.clear();
    this.byRoom = new Map();
    this.members = [];
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
      // What is kept outlives the rows a local commit carries: those are for RecentEventRows.
      const { row: _row, ...bare } = next;
      if (bare.roomId) {
        const positions = this.byRoom.get(bare.roomId);
        if (positions) positions.push(bare.position);
        else this.byRoom.set(bare.roomId, [bare.position]);
        if (bare.type === 'm.room.member' && bare.stateKey !== undefined) this.members.push(bare);
      }
      for (const listener of this.advanceListeners) listener(next);
    }
    // Trimmed in batches, not one shift per notice.
    if (this.frontierAt - this.low > this.keep + Math.max(1, this.keep >> 2)) {
      this.low = this.frontierAt - this.keep;
      for (const [roomId, positions] of this.byRoom) {
        const kept = positions.slice(firstAbove(positions, this.low, Number));
        if (kept.length) this.byRoom.set(roomId, kept);
        else this.byRoom.delete(roomId);
      }
      this.members = this.members.slice(firstAbove(this.members, this.low, (n) => n.position));
    }
  }
}

/** The index of the first item whose position is above `position` (items ascending). */
function firstAbove<T>(items: readonly T[], position: number, positionOf: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (positionOf(items[mid]) <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
