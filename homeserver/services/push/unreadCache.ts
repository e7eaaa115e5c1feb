/**
 * Unread counts per user and room, kept up to date by the events this process writes, so
 * that the members of a room who wake for a new message need no count query each.
 *
 * An entry holds the counts of the push actions at events positions up to `asOf` (read with
 * that bound, `asOf` being the heard frontier when the read began). Then every event heard in
 * order past the frontier (HeardEvents' advance) is applied: one this process wrote brings the
 * push actions it recorded (counted for their users, unless from a sender they blocked); one
 * written elsewhere, whose actions are not known here, drops the room's entries. A receipt
 * drops its user's entry in the room, so does a membership change; a read that raced with any
 * of these is not kept (the room's version). An entry also names the block list it was counted
 * with: a block or unblock gives the user a new list, and the entry is read again.
 */
import { LRUCache } from 'lru-cache';
import type { Notice } from '../sync/notifier.ts';

export interface Counts {
  notification_count: number;
  highlight_count: number;
}

export interface UnreadCounts {
  main: Counts;
  threads: Record<string, Counts>;
}

/** The push actions an event written here gave, as the count needs them. */
export interface WrittenActions {
  eventId: string;
  sender: string;
  thread: string;
  users: Array<{ userId: string; highlight: boolean }>;
}

interface Entry {
  roomId: string;
  asOf: number;
  blocked: ReadonlySet<string>;
  counts: UnreadCounts;
}

/** Events written and not yet heard committed, at most (a rolled-back write is never heard). */
const WRITTEN_MAX = 1_000;

export class UnreadCountCache {
  private readonly entries: LRUCache<string, Entry> | undefined;
  private readonly byRoom = new Map<string, Set<string>>();
  /** Bumped by everything that may change a room's counts: a read across a bump is not kept. */
  private readonly versions = new Map<string, number>();
  /** By event id: registered before the event's statement runs, whose notice may come first. */
  private readonly written: LRUCache<string, WrittenActions> | undefined;
  private enabled = true;

  constructor(max: number) {
    this.entries = max < 1 ? undefined : new LRUCache<string, Entry>({ max, dispose: (entry, key) => this.unindex(entry.roomId, key) });
    this.written = max < 1 ? undefined : new LRUCache<string, WrittenActions>({ max: WRITTEN_MAX });
  }

  /**
   * The counts, cached or loaded. `frontier`: every events position up to it has been heard
   * (undefined: not known, nothing is cached). `load(upTo)` counts the actions up to `upTo`.
   */
  async read(userId: string, roomId: string, blocked: ReadonlySet<string>, frontier: number | undefined, load: (upTo: number | undefined) => Promise<UnreadCounts>): Promise<UnreadCounts> {
    const key = keyOf(roomId, userId);
    const hit = this.enabled ? this.entries?.get(key) : undefined;
    if (hit && hit.blocked === blocked) return copyCounts(hit.counts);
    const version = this.versions.get(roomId) ?? 0;
    const counts = await load(this.entries && this.enabled ? frontier : undefined);
    if (this.entries && this.enabled && frontier !== undefined && version === (this.versions.get(roomId) ?? 0)) {
      this.entries.set(key, { roomId, asOf: frontier, blocked, counts: copyCounts(counts) });
      let keys = this.byRoom.get(roomId);
      if (!keys) this.byRoom.set(roomId, (keys = new Set()));
      keys.add(key);
    }
    return counts;
  }

  /** Before the event's statement runs: what it will count for whom, once heard committed. */
  writing(actions: WrittenActions): void {
    this.written?.set(actions.eventId, actions);
  }

  /** An event heard in order past the frontier (from HeardEvents). */
  advanced(n: Notice): void {
    if (!n.roomId) return;
    this.bump(n.roomId);
    const actions = n.eventId ? this.written?.get(n.eventId) : undefined;
    if (n.eventId) this.written?.delete(n.eventId);
    if (!actions) {
      // Written elsewhere: what it counts for whom is not known here.
      this.dropRoom(n.roomId);
      return;
    }
    if (n.type === 'm.room.member' && n.stateKey) this.entries?.delete(keyOf(n.roomId, n.stateKey));
    for (const { userId, highlight } of actions.users) {
      const entry = this.entries?.get(keyOf(n.roomId, userId));
      if (!entry || n.position <= entry.asOf || entry.blocked.has(actions.sender)) continue;
      const c = actions.thread === 'main' ? entry.counts.main : (entry.counts.threads[actions.thread] ??= { notification_count: 0, highlight_count: 0 });
      c.notification_count++;
      if (highlight) c.highlight_count++;
    }
  }

  /** A receipt: the user's counts in the room start again from it. */
  receipt(roomId: string, userId: string): void {
    this.bump(roomId);
    this.entries?.delete(keyOf(roomId, userId));
  }

  /** Notifications stopped (false) or are back (true): what was missed cannot be applied. */
  listening(on: boolean): void {
    this.enabled = on;
    this.entries?.clear();
    this.written?.clear();
    this.byRoom.clear();
    for (const roomId of this.versions.keys()) this.bump(roomId);
  }

  private bump(roomId: string): void {
    this.versions.set(roomId, (this.versions.get(roomId) ?? 0) + 1);
  }

  private dropRoom(roomId: string): void {
    const keys = this.byRoom.get(roomId);
    if (!keys) return;
    for (const key of [...keys]) this.entries?.delete(key);
  }

  private unindex(roomId: string, key: string): void {
    const keys = this.byRoom.get(roomId);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byRoom.delete(roomId);
  }
}

const keyOf = (roomId: string, userId: string) => `${roomId}\n${userId}`;

/**
 * A copy the caller may change without touching the cache (and the cache's later increments
 * not reaching an answer already given). Two levels of plain numbers: structuredClone's
 * serialisation cost more, on every room of every sync.
 */
function copyCounts(c: UnreadCounts): UnreadCounts {
  const threads: Record<string, Counts> = {};
  for (const id of Object.keys(c.threads)) threads[id] = { ...c.threads[id] };
  return { main: { ...c.main }, threads };
}
