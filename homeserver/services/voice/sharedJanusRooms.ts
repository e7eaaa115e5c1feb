/**
 * The Janus room of each voice channel, shared by every server process on the database: the
 * first process to need it records a random room number, pin and secret (insert-if-absent,
 * so two processes racing agree on one row), and only then makes the room in Janus. Each
 * process checks once per Janus generation that Janus has the room, making it again with the
 * same number, pin and secret when Janus lost it (it restarted): whichever process gets there
 * first, every process's clients rejoin the one room the row names.
 */
import type { JanusHandle } from '../../media/janusConnection.ts';
import { ensureRoom, newRoomParams, type JanusRoom } from '../../media/videoRoom.ts';
import type { Db } from '../../storage/database.ts';
import * as janusRooms from '../../storage/janusRooms.ts';

export class SharedJanusRooms {
  private readonly db: Db;
  private readonly adminKey: string | undefined;
  /** Rooms this process knows Janus has, by Matrix room, with the Janus generation it checked. */
  private readonly known = new Map<string, { generation: number; room: Promise<JanusRoom> }>();

  constructor(db: Db, adminKey: string | undefined) {
    this.db = db;
    this.adminKey = adminKey;
  }

  /** The channel's Janus room, there in Janus of this `generation`. */
  get(control: () => Promise<JanusHandle>, roomId: string, generation: number): Promise<JanusRoom> {
    const cached = this.known.get(roomId);
    if (cached && cached.generation === generation) return cached.room;
    const room = this.ensure(control, roomId);
    const entry = { generation, room };
    this.known.set(roomId, entry);
    room.catch(() => {
      if (this.known.get(roomId) === entry) this.known.delete(roomId);
    });
    return room;
  }

  /** Janus says it has no such room (it lost it without our connection dropping): check again next time. */
  forget(roomId: string): void {
    this.known.delete(roomId);
  }

  private async ensure(control: () => Promise<JanusHandle>, roomId: string): Promise<JanusRoom> {
    let room = await janusRooms.get(this.db, roomId);
    if (!room) {
      const fresh = newRoomParams();
      room = (await janusRooms.insertIfAbsent(this.db, roomId, fresh)) ? fresh : await janusRooms.get(this.db, roomId);
      if (!room) throw new Error(`voice room row of ${roomId} vanished`);
    }
    await ensureRoom(await control(), this.adminKey, roomId, room);
    return room;
  }
}
