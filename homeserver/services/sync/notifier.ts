/**
 * Wakes long-polling /sync requests when something they care about commits. Changes reach
 * it from this process (right after commit) and from other processes (PostgreSQL NOTIFY on
 * CHANGES_CHANNEL, delivered in commit order). It keeps, per user, the newest position of
 * each stream that concerned them, so a sync that registers its wait late still sees what
 * it missed.
 */
import type { Db } from '../../storage/database.ts';
import type { EventRow } from '../../storage/events.ts';
import * as deviceLists from '../../storage/deviceLists.ts';
import * as roomState from '../../storage/roomState.ts';
import { RoomPeers } from './roomPeers.ts';
import { STREAMS, zeroToken, type Stream, type SyncToken } from './tokens.ts';

export const CHANGES_CHANNEL = 'whisper_changes';

/**
 * A committed change: a room's (events, receipts, typing), one user's (account data,
 * to-device), or about one user that their room peers hear of (device lists, presence).
 */
export interface Notice {
  stream: Stream;
  position: number;
  roomId?: string;
  userId?: string;
  /** Events: the event's type, state key and membership, to track who is in a room. */
  type?: string;
  stateKey?: string;
  membership?: string;
  /** Events: the event's id. */
  eventId?: string;
  /** Events: the earlier event this one changed (the target of a redaction or a relation). */
  touches?: string;
  /** Events written by this process: the stored row (never sent to other processes). */
  row?: EventRow;
}

interface Waiter {
  since: SyncToken;
  resolve: () => void;
  /** A presence change will wake it (see wakeSoon). */
  soon?: NodeJS.Timeout;
}

/**
 * Presence wakes are spread out: when many friends come online together, every one of their
 * peers' long-polls would answer in the same instant, and messages sent then would wait
 * behind a thousand sync answers. Each presence wake waits up to this much per presence wake
 * already waiting (a few peers: at once; a crowd: over a second or two), at most the maximum.
 * Anything else for the user wakes them at once, presence included.
 */
const PRESENCE_SPREAD_PER_WAKE_MS = 2;
const PRESENCE_SPREAD_MAX_MS = 2000;

/** Memberships whose holders hear about a room's changes. */
const LISTENING = new Set(['join', 'invite', 'knock']);

const zero = zeroToken;

/** Streams whose changes about a user concern everyone sharing a room with them. */
const PEER_STREAMS = new Set<Stream>(['device_lists', 'presence']);

export class Notifier {
  private readonly db: Db;
  private readonly positions: SyncToken;
  private isClosed = false;
  private readonly userPositions = new Map<string, SyncToken>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Who is in each room (joined, invited, knocking), loaded when first needed. */
  private readonly members = new Map<string, Set<string>>();
  /** Rooms whose member list changed while it was loading (the load is discarded). */
  private readonly staleLoads = new Set<string>();
  private readonly listeners: Array<(n: Notice) => void> = [];
  /** Long-polls a presence change will wake shortly. */
  private presenceWakesWaiting = 0;
  /** Who shares a joined room with whom, kept current by the membership events heard here. */
  private readonly peers: RoomPeers;

  /** Positions from which this process has heard every change (its start, or its last resync). */
  private trustFrom: SyncToken;

  constructor(db: Db, start: Partial<SyncToken>) {
    this.db = db;
    this.positions = { ...zero(), ...start };
    this.trustFrom = { ...this.positions };
    this.peers = new RoomPeers(db);
  }

  /**
   * The user and everyone sharing a joined room with them, as of events position `at`: from
   * what this process heard when it has heard that far, else from the database. (Either may
   * include a peer who joined later, as the database's current state does.)
   */
  async peersOf(userId: string, at: number): Promise<Set<string>> {
    if (at <= this.positions.events) return this.peers.peersOf(userId);
    return deviceLists.usersSharingRoomWith(this.db, userId);
  }

  /**
   * True when nothing has concerned the user since `since` — known without reading the
   * database, because every change since `trustFrom` passed through here. A client that
   * re-polls right after an answer can then wait at once.
   */
  nothingNewFor(userId: string, since: SyncToken): boolean {
    if (STREAMS.some((s) => since[s] < this.trustFrom[s])) return false;
    const seen = this.userPositions.get(userId);
    return !seen || STREAMS.every((s) => seen[s] <= since[s]);
  }

  /** For each stream, everything at or below this position has committed. */
  current(): SyncToken {
    return { ...this.positions };
  }

  encode(n: Notice): string {
    const [before, after] = this.encodeAround(n);
    return `${before}${n.position}${after}`;
  }

  /**
   * The encoded notice without its position: what goes before it and after it. The events
   * writer builds the payload in SQL around the position it takes in the same statement.
   */
  encodeAround(n: Omit<Notice, 'position'>): [string, string] {
    const rest = JSON.stringify([n.roomId ?? null, n.userId ?? null, n.type ?? null, n.stateKey ?? null, n.membership ?? null, n.touches ?? null, n.eventId ?? null]);
    return [`[${JSON.stringify(n.stream)},`, `,${rest.slice(1)}`];
  }

  decode(payload: string): Notice | undefined {
    try {
      const [stream, position, roomId, userId, type, stateKey, membership, touches, eventId] = JSON.parse(payload) as Array<string | number | null>;
      if (!STREAMS.includes(stream as Stream) || typeof position !== 'number') return undefined;
      const orUndefined = (v: string | number | null) => (v == null ? undefined : String(v));
      return { stream: stream as Stream, position, roomId: orUndefined(roomId), userId: orUndefined(userId), type: orUndefined(type), stateKey: orUndefined(stateKey), membership: orUndefined(membership), touches: orUndefined(touches ?? null), eventId: orUndefined(eventId ?? null) };
    } catch {
      return undefined;
    }
  }

  /** Hears every committed change, from this process and others (e.g. voice drops kicked users). */
  subscribe(listener: (n: Notice) => void): void {
    this.listeners.push(listener);
  }

  async onChange(n: Notice): Promise<void> {
    await this.onChanges([n]);
  }

  /**
   * One transaction's changes: all are heard before anyone wakes, so no sync answers with
   * part of them (a new room without its name, say).
   */
  async onChanges(notices: Notice[]): Promise<void> {
    for (const n of notices) this.hear(n);
    for (const n of notices) await this.wakeFor(n);
  }

  private hear(n: Notice): void {
    for (const listener of this.listeners) listener(n);
    if (n.position > this.positions[n.stream]) this.positions[n.stream] = n.position;
    if (n.type === 'm.room.member' && n.stateKey && n.roomId) {
      this.peers.heardMembership(n.roomId, n.stateKey);
      const set = this.members.get(n.roomId);
      if (set) {
        if (LISTENING.has(n.membership ?? '')) set.add(n.stateKey);
        else set.delete(n.stateKey);
      } else {
        this.staleLoads.add(n.roomId);
      }
    }
  }

  private async wakeFor(n: Notice): Promise<void> {
    if (n.userId) this.wake(n.userId, n.stream, n.position);
    if (n.userId && PEER_STREAMS.has(n.stream)) {
      for (const roomId of await this.peers.roomsOf(n.userId)) {
        for (const peer of await this.membersOf(roomId)) this.wake(peer, n.stream, n.position);
      }
    }
    if (n.type === 'm.room.member' && n.stateKey && n.roomId) this.wake(n.stateKey, n.stream, n.position);
    if (n.roomId) for (const userId of await this.membersOf(n.roomId)) this.wake(userId, n.stream, n.position);
  }

  /** Something was missed (the notification connection dropped): everyone re-checks. */
  resync(positions: Partial<SyncToken>): void {
    for (const s of STREAMS) if ((positions[s] ?? 0) > this.positions[s]) this.positions[s] = positions[s]!;
    this.trustFrom = { ...this.positions };
    this.members.clear();
    this.peers.reset();
    for (const userId of [...this.waiters.keys()]) for (const s of STREAMS) this.wake(userId, s, this.positions[s]);
  }

  /** Resolves once something newer than `since` concerns the user, or after the timeout. */
  waitForUser(userId: string, since: SyncToken, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const seen = this.userPositions.get(userId);
    if (this.isClosed || timeoutMs <= 0 || (seen && STREAMS.some((s) => seen[s] > since[s]))) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(userId);
      if (!set) this.waiters.set(userId, (set = new Set()));
      const waiter: Waiter = {
        since,
        resolve: () => {
          clearTimeout(timer);
          if (waiter.soon) {
            clearTimeout(waiter.soon);
            waiter.soon = undefined;
            this.presenceWakesWaiting--;
          }
          signal?.removeEventListener('abort', waiter.resolve);
          set!.delete(waiter);
          if (set!.size === 0) this.waiters.delete(userId);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, timeoutMs);
      signal?.addEventListener('abort', waiter.resolve);
      set.add(waiter);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** At shutdown: every long-poll answers now, and new ones do not wait. */
  close(): void {
    this.isClosed = true;
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.resolve();
  }

  private wake(userId: string, stream: Stream, position: number): void {
    let seen = this.userPositions.get(userId);
    if (!seen) this.userPositions.set(userId, (seen = zero()));
    if (position > seen[stream]) seen[stream] = position;
    const set = this.waiters.get(userId);
    if (!set) return;
    for (const w of [...set]) {
      if (position <= w.since[stream]) continue;
      if (stream === 'presence') this.wakeSoon(w);
      else w.resolve();
    }
  }

  private wakeSoon(w: Waiter): void {
    if (w.soon) return;
    const spread = Math.min(PRESENCE_SPREAD_MAX_MS, this.presenceWakesWaiting * PRESENCE_SPREAD_PER_WAKE_MS);
    this.presenceWakesWaiting++;
    w.soon = setTimeout(w.resolve, Math.random() * spread);
  }

  private async membersOf(roomId: string): Promise<Iterable<string>> {
    const cached = this.members.get(roomId);
    if (cached) return cached;
    this.staleLoads.delete(roomId);
    const rows = await roomState.roomMembers(this.db, roomId, [...LISTENING]);
    const set = new Set(rows.map((r) => r.user_id));
    // A membership change that arrived meanwhile may be missing from what was read.
    if (!this.staleLoads.has(roomId)) this.members.set(roomId, set);
    return set;
  }
}
