/**
 * Who shares a joined room with whom, as this process has heard it: each user's joined rooms
 * and each room's joined members, read once and then kept current by the membership events
 * the notifier hears. Presence and device-list changes go to a user's room peers, and
 * working the peers out from the database on every sync (and every presence notice) was the
 * largest read when many friends come online together.
 *
 * Entries are dropped, not patched, by the membership events that touch them, and a read
 * across such an event is not kept (it may predate the event). The notifier clears it all
 * when notifications were missed.
 */
import type { Db } from '../../storage/database.ts';
import * as roomState from '../../storage/roomState.ts';

export class RoomPeers {
  private readonly db: Db;
  /** Joined rooms, per user. */
  private readonly rooms = new Map<string, Set<string>>();
  /** Joined members, per room. */
  private readonly members = new Map<string, Set<string>>();
  /** Bumped by every membership event and every reset: a read across a bump is not kept. */
  private changes = 0;

  constructor(db: Db) {
    this.db = db;
  }

  /** A membership event was heard. */
  heardMembership(roomId: string, userId: string): void {
    this.changes++;
    this.rooms.delete(userId);
    this.members.delete(roomId);
  }

  /** Membership events may have been missed: nothing kept holds. */
  reset(): void {
    this.changes++;
    this.rooms.clear();
    this.members.clear();
  }

  /** The rooms the user has joined. */
  roomsOf(userId: string): Promise<Set<string>> {
    return this.kept(this.rooms, userId, async () => (await roomState.roomsOfUser(this.db, userId, ['join'])).map((r) => r.room_id));
  }

  /** The room's joined members. */
  membersOf(roomId: string): Promise<Set<string>> {
    return this.kept(this.members, roomId, async () => (await roomState.roomMembers(this.db, roomId, ['join'])).map((r) => r.user_id));
  }

  /** What `map` holds at `key`, else what `read` gives, kept unless a membership event came meanwhile. */
  private async kept(map: Map<string, Set<string>>, key: string, read: () => Promise<string[]>): Promise<Set<string>> {
    const held = map.get(key);
    if (held) return held;
    const mark = this.changes;
    const found = new Set(await read());
    if (mark === this.changes) map.set(key, found);
    return found;
  }

  /** The user and everyone who shares a joined room with them. */
  async peersOf(userId: string): Promise<Set<string>> {
    const peers = new Set([userId]);
    for (const roomId of await this.roomsOf(userId)) for (const m of await this.membersOf(roomId)) peers.add(m);
    return peers;
  }
}
