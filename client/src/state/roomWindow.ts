/**
 * The part of a room's history that is drawn: a window of at most WINDOW_LIMIT events over the
 * room's timeline (matrix-js-sdk's TimelineWindow, as Element uses it). Scrolling back extends
 * it at the top, from memory or through /messages, and drops as many events at the bottom;
 * scrolling down again extends it at the bottom. So a room with 10,000 messages keeps a small
 * DOM and a cheap rebuild whatever the reader scrolled through. While the window reaches the
 * newest event it follows live events.
 */
import { Direction, TimelineWindow, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';

/** Events drawn at most (messages and the state changes, edits and reactions between them). */
export const WINDOW_LIMIT = 150;
/** Events drawn when a room opens: the newest ones. */
const INITIAL_SIZE = 60;

interface RoomWindow {
  window: TimelineWindow;
  /** Whether the window reached the newest event (then live events join it). */
  following: boolean;
  loadingOlder: boolean;
}

export class RoomWindows {
  private readonly client: MatrixClient;
  private readonly changed: () => void;
  private readonly windows = new Map<string, RoomWindow>();

  constructor(client: MatrixClient, changed: () => void) {
    this.client = client;
    this.changed = changed;
  }

  private of(room: Room): RoomWindow {
    let w = this.windows.get(room.roomId);
    if (!w) {
      // One TimelineWindow per room for the client's life: it listens to the room and never stops.
      w = { window: new TimelineWindow(this.client, room.getUnfilteredTimelineSet(), { windowLimit: WINDOW_LIMIT }), following: true, loadingOlder: false };
      void w.window.load(undefined, INITIAL_SIZE);
      this.windows.set(room.roomId, w);
    }
    return w;
  }

  events(room: Room): MatrixEvent[] {
    return this.of(room).window.getEvents();
  }

  /** Whether the newest event is in the window. */
  atLive(room: Room): boolean {
    return this.of(room).following;
  }

  hasOlder(room: Room): boolean {
    return this.of(room).window.canPaginate(Direction.Backward);
  }

  isLoadingOlder(room: Room): boolean {
    return !!this.windows.get(room.roomId)?.loadingOlder;
  }

  /** Moves the window `size` events back (fetching them when needed); false at the room's start. */
  async older(room: Room, size: number): Promise<boolean> {
    const w = this.of(room);
    if (w.loadingOlder || !w.window.canPaginate(Direction.Backward)) return false;
    w.loadingOlder = true;
    this.changed();
    try {
      return await w.window.paginate(Direction.Backward, size);
    } finally {
      w.loadingOlder = false;
      this.follow(w);
      this.changed();
    }
  }

  /** Moves the window `size` events forward, towards the newest (all of them are in memory). */
  async newer(room: Room, size: number): Promise<boolean> {
    const w = this.of(room);
    const moved = await w.window.paginate(Direction.Forward, size, false);
    this.follow(w);
    this.changed();
    return moved;
  }

  /** Back to the newest events (the "jump to present" button, a gappy sync). */
  toLatest(room: Room): void {
    const w = this.windows.get(room.roomId);
    if (!w) return;
    void w.window.load(undefined, INITIAL_SIZE);
    w.following = true;
    this.changed();
  }

  /** A live event arrived: a window at the newest event takes it in (dropping its oldest). */
  onLiveEvent(room: Room): void {
    const w = this.windows.get(room.roomId);
    if (!w?.following) return;
    void w.window.paginate(Direction.Forward, WINDOW_LIMIT, false);
  }

  private follow(w: RoomWindow): void {
    w.following = !w.window.canPaginate(Direction.Forward);
  }
}
