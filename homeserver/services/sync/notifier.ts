/**
 * Wakes long-polling /sync requests when something they care about commits. Events reach it
 * from this process (right after commit) and from other processes (PostgreSQL NOTIFY on
 * EVENTS_CHANNEL, delivered in commit order). It keeps, per user, the newest position that
 * concerned them, so a sync that registers its wait late still sees what it missed.
 */
import type { Db } from '../../storage/database.ts';
import * as roomState from '../../storage/roomState.ts';

export const EVENTS_CHANNEL = 'whisper_events';

export interface EventNotice {
  position: number;
  roomId: string;
  type: string;
  stateKey?: string;
  membership?: string;
}

interface Waiter {
  since: number;
  resolve: () => void;
}

/** Memberships whose holders hear about a room's events. */
const LISTENING = new Set(['join', 'invite', 'knock']);

export class Notifier {
  private readonly db: Db;
  private position = 0;
  private closed = false;
  private readonly userPositions = new Map<string, number>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Who is in each room (joined, invited, knocking), loaded when first needed. */
  private readonly members = new Map<string, Set<string>>();
  /** Rooms whose member list changed while it was loading (the load is discarded). */
  private readonly staleLoads = new Set<string>();

  constructor(db: Db, startPosition: number) {
    this.db = db;
    this.position = startPosition;
  }

  /** Everything at or below this position has committed. */
  currentPosition(): number {
    return this.position;
  }

  encodeNotice(n: EventNotice): string {
    return JSON.stringify([n.position, n.roomId, n.type, n.stateKey ?? null, n.membership ?? null]);
  }

  decodeNotice(payload: string): EventNotice | undefined {
    try {
      const [position, roomId, type, stateKey, membership] = JSON.parse(payload) as [number, string, string, string | null, string | null];
      return { position, roomId, type, stateKey: stateKey ?? undefined, membership: membership ?? undefined };
    } catch {
      return undefined;
    }
  }

  async onEvent(n: EventNotice): Promise<void> {
    if (n.position > this.position) this.position = n.position;
    if (n.type === 'm.room.member' && n.stateKey) {
      const set = this.members.get(n.roomId);
      if (set) {
        if (LISTENING.has(n.membership ?? '')) set.add(n.stateKey);
        else set.delete(n.stateKey);
      } else {
        this.staleLoads.add(n.roomId);
      }
      this.wake(n.stateKey, n.position);
    }
    for (const userId of await this.membersOf(n.roomId)) this.wake(userId, n.position);
  }

  /** Something was missed (the notification connection dropped): everyone re-checks. */
  resync(position: number): void {
    if (position > this.position) this.position = position;
    this.members.clear();
    for (const userId of this.waiters.keys()) this.wake(userId, this.position);
  }

  /** Resolves once something newer than `since` concerns the user, or after the timeout. */
  waitForUser(userId: string, since: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || (this.userPositions.get(userId) ?? 0) > since || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(userId);
      if (!set) this.waiters.set(userId, (set = new Set()));
      const waiter: Waiter = {
        since,
        resolve: () => {
          clearTimeout(timer);
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

  /** At shutdown: every long-poll answers now, and new ones do not wait. */
  close(): void {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.resolve();
  }

  /** Wakes a user's waiters directly (streams that concern one user). */
  wake(userId: string, position: number): void {
    if (position > (this.userPositions.get(userId) ?? 0)) this.userPositions.set(userId, position);
    const set = this.waiters.get(userId);
    if (!set) return;
    for (const w of [...set]) if (position > w.since) w.resolve();
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
