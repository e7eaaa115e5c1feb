/**
 * Threads (spec: m.thread relations), on matrix-js-sdk's thread support (the client is started
 * with `threadSupport`): replies live in their thread, not in the room's timeline; the root
 * carries the server's bundled summary (reply count, latest reply) until the sdk has fetched
 * the thread itself. Unread counts per thread come from sync's `unread_thread_notifications`
 * (the sdk asks for them in its filter) and are cleared by threaded read receipts.
 */
import {
  Direction, EventType, NotificationCountType, RoomEvent, ThreadEvent, type MatrixClient, type MatrixEvent, type Room, type Thread,
} from 'matrix-js-sdk';
import { textContent } from './markdown.ts';

export interface ThreadSummary {
  rootId: string;
  /** Replies (not counting the root). */
  count: number;
  last?: MatrixEvent;
  unread: number;
  highlight: number;
}

/** Messages still being sent: only a client started with detached pending events keeps them apart. */
function pendingOf(room: Room): MatrixEvent[] {
  try {
    return room.getPendingEvents();
  } catch {
    return [];
  }
}

/** Whether `ev` is a reply inside a thread (the root itself belongs to the room's timeline). */
export function isThreadReply(ev: MatrixEvent): boolean {
  return !!ev.threadRootId && !ev.isThreadRoot && ev.threadRootId !== ev.getId();
}

export class ThreadsState {
  private readonly client: MatrixClient;
  private readonly changed: () => void;
  private readonly watched = new WeakSet<Room>();
  private readonly paginating = new Set<string>();
  private readonly listing = new Set<string>();

  constructor(client: MatrixClient, changed: () => void) {
    this.client = client;
    this.changed = changed;
  }

  /** Thread events are emitted by the room only (the client does not re-emit them). */
  watch(room: Room): void {
    if (this.watched.has(room)) return;
    this.watched.add(room);
    room.on(ThreadEvent.New, this.changed);
    room.on(ThreadEvent.Update, this.changed);
    room.on(ThreadEvent.NewReply, this.changed);
    room.on(ThreadEvent.Delete, this.changed);
    room.on(RoomEvent.UnreadNotifications, this.changed);
  }

  private room(roomId: string): Room | null {
    const room = this.client.getRoom(roomId);
    if (room) this.watch(room);
    return room;
  }

  /** The summary a root shows under it ("3 replies"), or undefined when it has none. */
  summary(root: MatrixEvent): ThreadSummary | undefined {
    const rootId = root.getId();
    const room = rootId ? this.room(root.getRoomId()!) : null;
    if (!room || !rootId) return undefined;
    const thread = room.getThread(rootId);
    // Before the sdk made the thread, the server's bundled aggregation says it.
    const bundled = root.getServerAggregatedRelation<{ count: number; latest_event?: unknown }>('m.thread');
    // The sdk's reply count can be off by one while a reply arrives as it loads the thread's first
    // page (counted twice, or not at all): a thread loaded back to its start is counted from what
    // it holds; otherwise the count never says fewer than are loaded.
    const loaded = thread ? thread.liveTimeline.getEvents().filter((e) => e.getId() !== rootId && e.isRelation('m.thread')).length : 0;
    const whole = !!thread?.initialEventsFetched && !thread.liveTimeline.getPaginationToken(Direction.Backward);
    const count = thread ? (whole ? loaded : Math.max(thread.length, loaded)) : bundled?.count ?? 0;
    if (!count) return undefined;
    const last = thread?.replyToEvent ?? undefined;
    return {
      rootId,
      count,
      last: last && last.getId() !== rootId ? last : undefined,
      unread: room.getThreadUnreadNotificationCount(rootId, NotificationCountType.Total),
      highlight: room.getThreadUnreadNotificationCount(rootId, NotificationCountType.Highlight),
    };
  }

  /**
   * The room's threads, the most recently active first: those the sdk knows (roots seen in
   * the timeline, threads opened), and after loadList() every thread of the room.
   */
  list(roomId: string): ThreadSummary[] {
    const room = this.room(roomId);
    if (!room) return [];
    const out: (ThreadSummary & { ts: number })[] = [];
    for (const thread of room.getThreads()) {
      const root = thread.rootEvent;
      const summary = root && this.summary(root);
      if (summary) out.push({ ...summary, ts: summary.last?.getTs() ?? root.getTs() });
    }
    return out.sort((a, b) => b.ts - a.ts);
  }

  /** Unread replies in all the room's threads (the room's count less its own). */
  unreadInThreads(roomId: string): { unread: number; highlight: number } {
    const room = this.room(roomId);
    if (!room) return { unread: 0, highlight: 0 };
    const part = (type: NotificationCountType) => room.getUnreadNotificationCount(type) - room.getRoomUnreadNotificationCount(type);
    return { unread: part(NotificationCountType.Total), highlight: part(NotificationCountType.Highlight) };
  }

  isListLoading(roomId: string): boolean {
    return this.listing.has(roomId);
  }

  /** Fetches the room's thread list from the server (/threads), once per room. */
  async loadList(roomId: string): Promise<void> {
    const room = this.room(roomId);
    if (!room || this.listing.has(roomId)) return;
    this.listing.add(roomId);
    this.changed();
    try {
      await room.createThreadsTimelineSets();
      await room.fetchRoomThreads();
    } finally {
      this.listing.delete(roomId);
      this.changed();
    }
  }

  /** The thread's root, when loaded (in the room's timeline, or fetched with the thread). */
  root(roomId: string, rootId: string): MatrixEvent | undefined {
    const room = this.room(roomId);
    return room?.getThread(rootId)?.rootEvent ?? room?.findEventById(rootId) ?? undefined;
  }

  /**
   * Opens a thread (the panel, or a first reply): the sdk's Thread, made now for a root without
   * replies yet (as Element does), so the first reply and its echo land in it. Undefined while
   * the root is not loaded.
   */
  open(roomId: string, rootId: string): Thread | undefined {
    const room = this.room(roomId);
    if (!room) return undefined;
    const existing = room.getThread(rootId);
    if (existing) return existing;
    const root = room.findEventById(rootId);
    return root ? room.createThread(rootId, root, [], true) : undefined;
  }

  /** The replies of a thread, oldest first, then those still being sent. */
  replies(roomId: string, rootId: string): MatrixEvent[] {
    const room = this.room(roomId);
    if (!room) return [];
    const thread = room.getThread(rootId);
    const loaded = thread ? thread.events.filter((e) => e.getId() !== rootId) : [];
    const sending = pendingOf(room).filter((e) => e.threadRootId === rootId && e.getId() !== rootId);
    return [...loaded, ...sending.filter((e) => !loaded.includes(e))];
  }

  /** Whether replies older than those drawn exist (once the sdk has fetched the newest ones). */
  hasOlder(roomId: string, rootId: string): boolean {
    const thread = this.room(roomId)?.getThread(rootId);
    return !!thread?.initialEventsFetched && !!thread.liveTimeline.getPaginationToken(Direction.Backward);
  }

  /** Whether replies are being fetched: the thread's newest on opening, or an older page. */
  isLoading(roomId: string, rootId: string): boolean {
    const thread = this.room(roomId)?.getThread(rootId);
    return this.paginating.has(rootId) || (!!thread && !thread.initialEventsFetched);
  }

  /** Loads older replies of the thread (/relations). */
  async loadOlder(roomId: string, rootId: string): Promise<void> {
    const thread = this.room(roomId)?.getThread(rootId);
    if (!thread || !thread.initialEventsFetched || this.paginating.has(rootId) || !this.hasOlder(roomId, rootId)) return;
    this.paginating.add(rootId);
    try {
      await this.client.paginateEventTimeline(thread.liveTimeline, { backwards: true, limit: 30 });
    } finally {
      this.paginating.delete(rootId);
      this.changed();
    }
  }

  /**
   * Replies in the thread. The sdk adds the m.thread relation and, per spec, the reply
   * fallback (`m.in_reply_to` the thread's latest reply, `is_falling_back`); a reply to one
   * message of the thread quotes that one instead.
   */
  async send(roomId: string, rootId: string, text: string, replyTo?: MatrixEvent): Promise<string> {
    const content: Record<string, unknown> = textContent(text);
    if (replyTo?.getId() && replyTo.getId() !== rootId) content['m.relates_to'] = { 'm.in_reply_to': { event_id: replyTo.getId() } };
    this.open(roomId, rootId);
    const res = await this.client.sendEvent(roomId, rootId, EventType.RoomMessage, content as any);
    return res.event_id;
  }

  /** Sends a threaded read receipt for the thread's newest reply and clears its count. */
  async markRead(roomId: string, rootId: string): Promise<void> {
    const room = this.room(roomId);
    const thread = room?.getThread(rootId);
    if (!room || !thread) return;
    const last = [...thread.events].reverse().find((e) => e.getId() && !e.getId()!.startsWith('~') && !e.status);
    if (!last) return;
    const unread = room.getThreadUnreadNotificationCount(rootId, NotificationCountType.Total) > 0;
    if (!unread && thread.getEventReadUpTo(this.client.getUserId()!) === last.getId()) return;
    room.setThreadUnreadNotificationCount(rootId, NotificationCountType.Total, 0);
    room.setThreadUnreadNotificationCount(rootId, NotificationCountType.Highlight, 0);
    this.changed();
    await this.client.sendReadReceipt(last).catch(() => {});
  }
}
