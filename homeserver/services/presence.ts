/**
 * Presence: online while a client syncs, unavailable when idle or when the client says so,
 * offline once no client has synced for a while. Changes go out on the presence stream to
 * everyone sharing a room with the user (and to the user).
 *
 * Syncing is frequent, so it is tracked in memory and written in one batch per tick; only a
 * change of state is written (and announced) at once.
 */
import { errors } from '../errors.ts';
import type { Db, Queryable } from '../storage/database.ts';
import * as friends from '../storage/friends.ts';
import * as presence from '../storage/presence.ts';
import * as users from '../storage/users.ts';
import { announced } from './sync/announce.ts';
import type { Notifier } from './sync/notifier.ts';
import type { BlockLists } from './friends/blockLists.ts';

export type PresenceState = presence.PresenceRow['state'];

export interface PresenceTimings {
  /** Offline when no client of the user has synced for this long. */
  offlineAfterMs: number;
  /** Online becomes unavailable after this long without activity. */
  idleAfterMs: number;
  /** An online user's activity is recorded at most this often (Synapse: a minute). */
  activeGranularityMs: number;
}

export interface PresenceContent {
  presence: PresenceState;
  last_active_ago?: number;
  currently_active?: boolean;
  status_msg?: string;
}

interface Known {
  state: PresenceState;
  lastActive: number;
  /** The presence stream position of the row as known (its last change). */
  position: number;
}
const STATUS_MSG_MAX = 512;
/** Presence positions whose changed rows are kept for syncs (a few minutes of ticks and changes). */
const POSITIONS_KEPT = 1000;

/** A presence position heard, and (once a sync asked) the rows changed there, as read. */
interface ChangedAt {
  rows?: Promise<presence.PresenceRow[]>;
}

export class PresenceService {
  private readonly db: Db;
  private readonly notifier: Notifier;
  private readonly timings: PresenceTimings;
  private readonly blocks: BlockLists;
  /** Long-polls open in this process, per user. */
  private readonly open = new Map<string, number>();
  /** Users who synced here since the last tick. */
  private readonly synced = new Set<string>();
  /** Online users active here whose last activity the next tick records (one batch). */
  private readonly activeNow = new Set<string>();
  /** Online users still currently active whose activity the next tick records without a notice. */
  private readonly activeQuietly = new Set<string>();
  /**
   * Presence changes heard, by position (positions are taken under the stream's lock, so they
   * are contiguous and commit in order). When many change at once (friends coming online
   * together), each position's rows are read once for every sync they wake, not once per sync.
   */
  private readonly changedAt = new Map<number, ChangedAt>();
  /**
   * What this process last wrote or read per user, to skip writes that change nothing. A
   * change by another process (its tick sets offline) is announced on the presence stream, and
   * its notice drops the entry; while notifications are down, nothing is trusted.
   */
  private readonly known = new Map<string, Known>();
  private trusted = true;
  /** Bumped by every presence notice: a read across a bump is not kept. */
  private heardChanges = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(deps: { db: Db; notifier: Notifier; blocks: BlockLists; timings: PresenceTimings }) {
    this.db = deps.db;
    this.blocks = deps.blocks;
    this.notifier = deps.notifier;
    this.timings = deps.timings;
    deps.notifier.subscribe((n) => {
      if (n.stream !== 'presence' || !n.userId) return;
      this.heardChanges++;
      // Our own write is heard too: an entry that already holds that change stays.
      if ((this.known.get(n.userId)?.position ?? Infinity) < n.position) this.known.delete(n.userId);
      this.heardAt(n.position);
    });
    // A tick often enough that offline comes within a few seconds of the timeout.
    this.timer = setInterval(() => void this.tick().catch(() => {}), Math.max(250, Math.min(5000, this.timings.offlineAfterMs / 6)));
    this.timer.unref();
  }

  /**
   * A sync started (`set_presence` as the client asked; `offline` leaves presence alone).
   * Returns a function to call when the sync ends.
   */
  async syncStarted(userId: string, setPresence: PresenceState = 'online'): Promise<() => void> {
    if (setPresence === 'offline') return () => {};
    this.open.set(userId, (this.open.get(userId) ?? 0) + 1);
    this.synced.add(userId);
    const done = () => {
      const n = (this.open.get(userId) ?? 1) - 1;
      if (n > 0) this.open.set(userId, n);
      else this.open.delete(userId);
      this.synced.add(userId);
    };
    const known = await this.current(userId);
    // Syncing keeps an online user online; an idle (unavailable) one stays so until active.
    const wanted = setPresence === 'unavailable' ? 'unavailable' : known?.state === 'offline' || !known ? 'online' : known.state;
    if (known?.state !== wanted) await this.write(userId, { state: wanted, activeNow: wanted === 'online' });
    return done;
  }

  /**
   * The user did something (sent an event): they are active, and online if they were idle.
   * Becoming online is written at once; an online user's fresher activity waits for the next
   * tick, which writes everyone's in one transaction: when friends come back in the evening,
   * each one's first message would otherwise be a transaction of its own on the presence
   * stream's lock.
   */
  async active(userId: string): Promise<void> {
    const known = await this.current(userId);
    if (known && known.state === 'online') {
      const ago = Date.now() - known.lastActive;
      // Past the granularity the user no longer counts as currently active: coming back is news.
      if (ago >= this.timings.activeGranularityMs) this.activeNow.add(userId);
      // Still currently active: the activity is kept fresh, and nobody is told (as in Synapse),
      // so a user who keeps chatting never shows a flip and costs no one a sync.
      else if (ago >= this.timings.activeGranularityMs / 2) this.activeQuietly.add(userId);
      return;
    }
    await this.write(userId, { state: 'online', activeNow: true });
  }

  /** PUT /presence/{userId}/status. */
  async setStatus(requesterId: string, userId: string, state: PresenceState, statusMsg: string | undefined): Promise<void> {
    if (requesterId !== userId) throw errors.forbidden('You can only set your own presence.');
    if (statusMsg && statusMsg.length > STATUS_MSG_MAX) throw errors.invalidParam(`status_msg may be at most ${STATUS_MSG_MAX} characters.`);
    await this.write(userId, { state, activeNow: state === 'online', statusMsg: statusMsg ?? null });
  }

  /** GET /presence/{userId}/status: for the user and those who share a room with them. */
  async getStatus(requesterId: string, userId: string): Promise<PresenceContent> {
    if (!(await users.getUser(this.db, userId))) throw errors.notFound('Unknown user.');
    if (requesterId !== userId && !(await this.notifier.peersOf(requesterId, this.notifier.current().events)).has(userId)) {
      throw errors.forbidden('You do not share a room with this user.');
    }
    // Someone who blocked the requester always looks offline to them.
    if (requesterId !== userId && (await friends.isBlocked(this.db, userId, requesterId))) return { presence: 'offline' };
    const [row] = await presence.getPresence(this.db, [userId]);
    return row ? toContent(row, Date.now(), this.timings.activeGranularityMs) : { presence: 'offline' };
  }

  /**
   * m.presence events for a sync: everyone the user shares a room with (and the user) —
   * all of them on an initial sync, those who changed in (after, upTo] otherwise. `atEvents`:
   * the sync's events position, as of which room peers are counted.
   */
  async forSync(userId: string, initial: boolean, after: number, upTo: number, atEvents: number): Promise<Array<{ type: 'm.presence'; sender: string; content: PresenceContent }>> {
    if (!initial && upTo <= after) return [];
    const shared = [...(await this.notifier.peersOf(userId, atEvents))];
    const blockers = await this.blocks.blockersOf(userId);
    const peers = shared.filter((p) => !blockers.has(p));
    const rows = initial ? await presence.getPresence(this.db, peers) : await this.changedBetween(peers, after, upTo);
    const now = Date.now();
    return rows
      .filter((r) => !initial || r.state !== 'offline' || r.status_msg)
      .sort((a, b) => a.user_id.localeCompare(b.user_id))
      .map((r) => ({ type: 'm.presence', sender: r.user_id, content: toContent(r, now, this.timings.activeGranularityMs) }));
  }

  /** Current states for display (the friend list); absent users are offline. */
  async statesOf(userIds: string[]): Promise<Map<string, PresenceState>> {
    return new Map((await presence.getPresence(this.db, userIds)).map((r) => [r.user_id, r.state]));
  }

  /** Notifications stopped (false) or are back (true): changes may have been missed meanwhile. */
  listening(on: boolean): void {
    this.trusted = on;
    this.known.clear();
    this.changedAt.clear();
  }

  private heardAt(position: number): void {
    if (!this.trusted || this.changedAt.has(position)) return;
    this.changedAt.set(position, {});
    // Positions are heard in order: the first kept is the oldest.
    if (this.changedAt.size > POSITIONS_KEPT) this.changedAt.delete(this.changedAt.keys().next().value!);
  }

  /**
   * The rows of these users that changed in (after, upTo]: from the changes heard when every
   * position in between was heard here, else from the database.
   */
  private async changedBetween(userIds: string[], after: number, upTo: number): Promise<presence.PresenceRow[]> {
    if (upTo - after > POSITIONS_KEPT) return presence.changedBetween(this.db, userIds, after, upTo);
    const wanted = new Set(userIds);
    const reads: Array<Promise<presence.PresenceRow[]>> = [];
    for (let p = after + 1; p <= upTo; p++) {
      const at = this.changedAt.get(p);
      if (!at) return presence.changedBetween(this.db, userIds, after, upTo);
      // All the position's rows, once: a notice names one user, and others of the same
      // position may not have been heard yet when this sync runs.
      at.rows ??= presence.changedAt(this.db, p).catch((err: unknown) => {
        at.rows = undefined; // read again next time
        throw err;
      });
      reads.push(at.rows);
    }
    // A row read at an earlier position may have moved on since: each user's newest wins.
    const newest = new Map<string, presence.PresenceRow>();
    for (const rows of await Promise.all(reads)) {
      for (const r of rows) {
        if (!wanted.has(r.user_id) || r.stream_position > upTo) continue;
        if ((newest.get(r.user_id)?.stream_position ?? -1) < r.stream_position) newest.set(r.user_id, r);
      }
    }
    return [...newest.values()];
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Records who synced, then moves users who stopped syncing to offline and idle ones to unavailable. */
  async tick(): Promise<void> {
    const now = Date.now();
    const syncing = [...new Set([...this.synced, ...this.open.keys()])];
    this.synced.clear();
    // A third of the timeout: with a tick's delay on top, a row read by any process's tick is
    // always well within the timeout while its user syncs.
    await presence.touchSync(this.db, syncing, now, now - this.timings.offlineAfterMs / 3);
    await this.recordActivity(now);
    const stillHere = new Set(this.open.keys());
    await this.db.transaction(async (trx) => {
      const stale = await presence.timedOut(trx, now - this.timings.offlineAfterMs, now - this.timings.idleAfterMs);
      for (const row of stale) {
        if (stillHere.has(row.user_id)) continue;
        const gone = row.last_sync_ts < now - this.timings.offlineAfterMs;
        await this.write(row.user_id, { state: gone ? 'offline' : 'unavailable', activeNow: false }, trx, row);
      }
    });
  }

  /** Last activity of the online users active since the last tick, announced as one position. */
  private async recordActivity(now: number): Promise<void> {
    const users = [...this.activeNow];
    const quietly = [...this.activeQuietly].filter((u) => !this.activeNow.has(u));
    this.activeNow.clear();
    this.activeQuietly.clear();
    if (quietly.length) {
      for (const userId of await presence.touchActive(this.db, quietly, now)) {
        const known = this.known.get(userId);
        if (known) known.lastActive = now;
      }
    }
    if (users.length === 0) return;
    await announced(this.db, this.notifier, 'presence', async (trx, position) => {
      const changed = await presence.touchActive(trx, users, now, position);
      for (const userId of changed) this.known.set(userId, { state: 'online', lastActive: now, position });
      return changed.map((userId) => ({ userId }));
    });
  }

  private async current(userId: string): Promise<Known | undefined> {
    const cached = this.trusted ? this.known.get(userId) : undefined;
    if (cached) return cached;
    const mark = this.heardChanges;
    const [row] = await presence.getPresence(this.db, [userId]);
    if (!row) return undefined;
    const known = { state: row.state, lastActive: row.last_active_ts, position: Number(row.stream_position) };
    // Not kept if a change was heard while reading: the row may predate it.
    if (this.trusted && mark === this.heardChanges) this.known.set(userId, known);
    return known;
  }

  private async write(
    userId: string,
    change: { state: PresenceState; activeNow: boolean; statusMsg?: string | null },
    q?: Queryable,
    current?: presence.PresenceRow,
  ): Promise<void> {
    const now = Date.now();
    await announced(this.db, this.notifier, 'presence', async (trx, position) => {
      const [row] = current ? [current] : await presence.getPresence(trx, [userId]);
      const lastActive = change.activeNow ? now : (row?.last_active_ts ?? now);
      await presence.putPresence(trx, {
        user_id: userId,
        state: change.state,
        status_msg: change.statusMsg !== undefined ? change.statusMsg : (row?.status_msg ?? null),
        last_active_ts: lastActive,
        last_sync_ts: this.open.has(userId) || this.synced.has(userId) ? now : (row?.last_sync_ts ?? now),
        stream_position: position,
      });
      this.known.set(userId, { state: change.state, lastActive, position });
      return { userId };
    }, q);
  }
}

/** `currently_active`: active within the granularity, which is how fresh activity is kept. */
function toContent(r: presence.PresenceRow, now: number, activeGranularityMs: number): PresenceContent {
  const ago = Math.max(0, now - r.last_active_ts);
  return {
    presence: r.state,
    last_active_ago: ago,
    currently_active: r.state === 'online' && ago < activeGranularityMs,
    ...(r.status_msg ? { status_msg: r.status_msg } : {}),
  };
}
