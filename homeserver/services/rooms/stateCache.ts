/**
 * Current room state in memory, for the event persister: every event is checked against the
 * room's state (auth rules, power levels) and evaluated for every member (push rules), and
 * reading that state was most of the statements of a send.
 *
 * A snapshot says at which room position it holds: the stream position of the room's newest
 * event. The persister reads the newest event under the room lock anyway (prev_events, depth);
 * if its position is the snapshot's, no one — in this process or another sharing the
 * database — has written the room since, so the snapshot is the state. Otherwise the state is
 * read again in one query. Snapshots are immutable: a write makes a new one, which replaces
 * the cached one only once its transaction has committed.
 */
import { LRUCache } from 'lru-cache';
import type { Queryable } from '../../storage/database.ts';
import type { Pdu } from '../../storage/events.ts';
import * as roomState from '../../storage/roomState.ts';
import { stateKey } from './authRules.ts';

export interface RoomStateSnapshot {
  /** The stream position of the room's newest event when this was the state (0: no event yet). */
  readonly position: number;
  /** That newest event: the next event links after it (undefined: no event yet). */
  readonly head: RoomHead | undefined;
  /** Keyed by `stateKey(type, state_key)`, the key the auth rules use. */
  readonly events: ReadonlyMap<string, Pdu>;
}

export interface RoomHead {
  event_id: string;
  depth: number;
}

export class RoomStateCache {
  /** Undefined when sized 0 (caching off): every persist reads the state. */
  private readonly rooms: LRUCache<string, RoomStateSnapshot> | undefined;

  constructor(maxRooms: number) {
    this.rooms = maxRooms < 1 ? undefined : new LRUCache({ max: maxRooms });
  }

  /**
   * The room's state when its newest event is at `position`. Called under the room lock, so
   * the state read is the committed state at that position and may be cached at once.
   */
  async current(q: Queryable, roomId: string, newest: (RoomHead & { stream_ordering: number }) | undefined): Promise<RoomStateSnapshot> {
    const position = newest?.stream_ordering ?? 0;
    const cached = this.rooms?.get(roomId);
    if (cached && cached.position === position) return cached;
    const events = await roomState.currentStateEvents(q, roomId);
    const head = newest && { event_id: newest.event_id, depth: newest.depth };
    const snapshot: RoomStateSnapshot = { position, head, events: new Map(events.map((e) => [stateKey(e.type, e.state_key ?? ''), e])) };
    this.rooms?.set(roomId, snapshot);
    return snapshot;
  }

  /**
   * The last snapshot this process knows, without asking the database whether the room moved
   * since (another process may have written it): for writers that find out at the write.
   */
  latest(roomId: string): RoomStateSnapshot | undefined {
    return this.rooms?.get(roomId);
  }

  /** A writer found the room moved on: the next one reads it again. */
  forget(roomId: string): void {
    this.rooms?.delete(roomId);
  }

  /** After a commit: the room's state is now `snapshot` (unless a later one is already known). */
  committed(roomId: string, snapshot: RoomStateSnapshot): void {
    const cached = this.rooms?.get(roomId);
    if (!cached || cached.position < snapshot.position) this.rooms?.set(roomId, snapshot);
  }
}

/** The snapshot after `pdu` at `position`: a state event replaces its entry (a copy of the map). */
export function advance(snapshot: RoomStateSnapshot, pdu: Pdu, position: number): RoomStateSnapshot {
  const head = { event_id: pdu.event_id, depth: pdu.depth };
  if (pdu.state_key === undefined) return { position, head, events: snapshot.events };
  return { position, head, events: new Map(snapshot.events).set(stateKey(pdu.type, pdu.state_key), pdu) };
}

/** The snapshot after an event in it was redacted: the entry holds the redacted copy. */
export function redacted(snapshot: RoomStateSnapshot, pdu: Pdu): RoomStateSnapshot {
  const key = stateKey(pdu.type, pdu.state_key ?? '');
  if (pdu.state_key === undefined || snapshot.events.get(key)?.event_id !== pdu.event_id) return snapshot;
  return { ...snapshot, events: new Map(snapshot.events).set(key, pdu) };
}

/** Members with one of the memberships, from a snapshot. */
export function membersOf(snapshot: RoomStateSnapshot, memberships: string[]): Array<{ user_id: string; membership: string }> {
  const out: Array<{ user_id: string; membership: string }> = [];
  for (const e of snapshot.events.values()) {
    if (e.type !== 'm.room.member' || e.state_key === undefined) continue;
    const membership = String(e.content.membership);
    if (memberships.includes(membership)) out.push({ user_id: e.state_key, membership });
  }
  return out;
}
