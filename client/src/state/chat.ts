/**
 * The app's one state layer over matrix-js-sdk: the sync loop, the room list with unread and
 * mention badges, each room's timeline view-model (a window over its history: roomWindow.ts),
 * threads (threads.ts), and every act the views offer (send, edit, reply, react, redact, typing,
 * receipts, uploads, search, rooms, profile, devices). Views read from it and call it; it tells
 * them to redraw through `subscribe`.
 */
import {
  ClientEvent, Direction, EventType, HttpApiEvent, MatrixEvent, MatrixEventEvent, NotificationCountType, PendingEventOrdering, Preset,
  RelationType, RoomEvent, RoomMemberEvent, RoomStateEvent, SyncState, type MatrixClient, type Room,
} from 'matrix-js-sdk';
import { isBigImage, makeThumbnail, sealFile, type EncryptedFile } from './attachments.ts';
import { encryptionStateEvent, searchDecrypted, WAITING_FOR_KEY, whenDecrypted } from './crypto.ts';
import { FriendsState } from './friends.ts';
import { cryptoSettled } from './lateCrypto.ts';
import { RoomWindows } from './roomWindow.ts';
import { textContent } from './markdown.ts';
import { SecurityState } from './security.ts';
import { isThreadReply, ThreadsState } from './threads.ts';
import { UiaCancelled, withUia, type UiaPrompt } from './uia.ts';
import { buildTimeline, shownReplyId, type ReactionSummary, type TimelineItem } from './timeline.ts';
import { isVoiceChannel, VOICE_ROOM_TYPE } from './voiceRoster.ts';

export type RoomKind = 'dm' | 'group' | 'voice';

export interface RoomSummary {
  roomId: string;
  name: string;
  kind: RoomKind;
  membership: 'join' | 'invite';
  /** For DMs: the other person. */
  dmUserId?: string;
  avatarMxc?: string;
  unread: number;
  mentions: number;
  lastActive: number;
  /** Who invited us (for invites). */
  inviter?: string;
  /** An invite that is a Whisper friend request (shown with the friend requests, not as a chat). */
  friendRequest?: boolean;
}

export interface UploadState {
  id: number;
  roomId: string;
  /** The thread the file goes to (its composer shows the progress). */
  threadId?: string;
  name: string;
  loaded: number;
  total: number;
  error?: string;
}

export interface SearchHit {
  eventId: string;
  roomId: string;
  sender: string;
  body: string;
  ts: number;
}

export interface DeviceInfo {
  deviceId: string;
  displayName?: string;
  lastSeenIp?: string;
  lastSeenTs?: number;
  current: boolean;
}

/** What a new message notifies about (the views turn it into a desktop notification). */
export interface MessageNotice {
  roomId: string;
  roomName: string;
  sender: string;
  body: string;
  mention: boolean;
}

const PAGE_SIZE = 40;

/**
 * Messages still being sent, drawn after the timeline. Only a client started with
 * PendingEventOrdering.Detached keeps them apart (start() does); otherwise they are in the timeline.
 */
function pendingEvents(room: Room): MatrixEvent[] {
  try {
    return room.getPendingEvents();
  } catch {
    return [];
  }
}

export class ChatState {
  readonly client: MatrixClient;
  readonly userId: string;
  syncState: SyncState | null = null;
  /** Whether the first sync has filled the room list. */
  ready = false;
  /** Resolves when `ready` turns true (start() goes on to read the profile and friends). */
  readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  /** The user's own profile, read at start (sync only tells it through rooms' member events). */
  private ownProfile: { displayName?: string; avatarMxc?: string } = {};
  uploads: UploadState[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly noticeListeners = new Set<(n: MessageNotice) => void>();
  private pending = false;
  private uploadCounter = 0;
  private lastTypingSent = new Map<string, number>();
  readonly friends: FriendsState;
  readonly security: SecurityState;
  readonly threads: ThreadsState;
  private readonly windows: RoomWindows;
  /** How sensitive acts ask for the password / authenticator code; the views install theirs. */
  authPrompt: UiaPrompt = () => Promise.reject(new UiaCancelled());

  constructor(client: MatrixClient) {
    this.client = client;
    this.userId = client.getUserId()!;
    this.firstSync = new Promise((resolve) => { this.resolveFirstSync = resolve; });
    const changed = () => this.changed();
    this.friends = new FriendsState(client, changed);
    this.security = new SecurityState(client, this.userId, () => this.authPrompt);
    this.threads = new ThreadsState(client, changed);
    this.windows = new RoomWindows(client, changed);
    client.on(ClientEvent.Room, (room) => this.threads.watch(room));
    client.on(ClientEvent.Sync, (state) => {
      this.syncState = state;
      changed();
    });
    for (const ev of [ClientEvent.Room, ClientEvent.DeleteRoom, ClientEvent.AccountData] as const) client.on(ev, changed);
    client.on(RoomEvent.Timeline, (ev, room, toStart, removed, data) => {
      if (!toStart && data?.liveEvent && room) {
        this.windows.onLiveEvent(room);
        this.maybeNotify(ev, room);
      }
      changed();
    });
    // A gappy sync replaced the live timeline: the window starts again from the newest events.
    client.on(RoomEvent.TimelineReset, (room, timelineSet) => {
      if (room && timelineSet === room.getUnfilteredTimelineSet()) this.windows.toLatest(room);
    });
    for (const ev of [RoomEvent.TimelineReset, RoomEvent.Redaction, RoomEvent.Receipt,
      RoomEvent.LocalEchoUpdated, RoomEvent.MyMembership, RoomEvent.Name] as const) client.on(ev, changed);
    client.on(RoomMemberEvent.Typing, changed);
    // Call rosters and live streams are room state (org.whisper.voice.member, org.whisper.stream).
    client.on(RoomStateEvent.Events, changed);
    client.on(RoomMemberEvent.Name, changed);
    client.on(MatrixEventEvent.Replaced, changed);
  }

  /** Starts syncing; resolves after the first sync has filled the room list (and the profile and friends are read). */
  async start(): Promise<void> {
    // Detached: messages being sent stay below the timeline until the server has them.
    // threadSupport: thread replies go to their thread, and sync asks for per-thread unread counts.
    await this.client.startClient({
      initialSyncLimit: PAGE_SIZE, lazyLoadMembers: true, pendingEventOrdering: PendingEventOrdering.Detached, threadSupport: true,
    });
    await new Promise<void>((resolve, reject) => {
      if (this.client.isInitialSyncComplete()) return resolve();
      const onSync = (state: SyncState) => {
        if (state === SyncState.Prepared || state === SyncState.Syncing) {
          this.client.off(ClientEvent.Sync, onSync);
          resolve();
        } else if (state === SyncState.Error && !this.client.isInitialSyncComplete()) {
          // The sdk retries by itself; a bad token shows up as a session-logged-out event instead.
        }
      };
      this.client.on(ClientEvent.Sync, onSync);
      this.client.once(HttpApiEvent.SessionLoggedOut, () => reject(new Error('The session was signed out')));
    });
    this.ready = true;
    performance.mark('whisper:first-sync');
    this.changed();
    this.resolveFirstSync();
    await Promise.all([this.loadOwnProfile(), this.friends.refresh().catch(() => {})]);
  }

  stop(): void {
    this.client.stopClient();
    this.client.removeAllListeners();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onNotice(fn: (n: MessageNotice) => void): () => void {
    this.noticeListeners.add(fn);
    return () => this.noticeListeners.delete(fn);
  }

  /** Coalesces bursts of sdk events into one redraw. */
  private changed(): void {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      for (const fn of this.listeners) fn();
    });
  }

  private maybeNotify(ev: MatrixEvent, room: Room): void {
    // Live encrypted messages reach the timeline before they are decrypted: decide once readable.
    if (ev.getType() === EventType.RoomMessageEncrypted) {
      void whenDecrypted(ev).then(() => { if (ev.getType() !== EventType.RoomMessageEncrypted) this.maybeNotify(ev, room); });
      return;
    }
    if (ev.getSender() === this.userId || ev.getType() !== EventType.RoomMessage || ev.isRelation(RelationType.Replace)) return;
    if (!this.client.isInitialSyncComplete()) return;
    const actions = this.client.getPushActionsForEvent(ev);
    const mention = !!actions?.tweaks?.highlight;
    if (!mention && this.kindOf(room) !== 'dm') return;
    const notice: MessageNotice = { roomId: room.roomId, roomName: room.name, sender: this.displayName(ev.getSender()!, room), body: ChatState.bodyOf(ev), mention };
    for (const fn of this.noticeListeners) fn(notice);
  }

  // ---- room list -------------------------------------------------------------------------

  private directMap(): Record<string, string[]> {
    return (this.client.getAccountData(EventType.Direct)?.getContent() as Record<string, string[]> | undefined) ?? {};
  }

  /** The other person of a DM, from m.direct, or the invite that made it. */
  dmPartner(room: Room): string | undefined {
    for (const [userId, rooms] of Object.entries(this.directMap())) if (rooms.includes(room.roomId)) return userId;
    const me = room.getMember(this.userId);
    if (room.getMyMembership() === 'invite' && me?.events.member?.getContent().is_direct) return me.events.member.getSender();
    return undefined;
  }

  kindOf(room: Room): RoomKind {
    if (isVoiceChannel(room)) return 'voice';
    return this.dmPartner(room) ? 'dm' : 'group';
  }

  rooms(): RoomSummary[] {
    const list: RoomSummary[] = [];
    for (const room of this.client.getRooms()) {
      const membership = room.getMyMembership();
      if (membership !== 'join' && membership !== 'invite') continue;
      const dmUserId = this.dmPartner(room);
      const inviteEvent = membership === 'invite' ? room.getMember(this.userId)?.events.member : undefined;
      list.push({
        roomId: room.roomId,
        name: room.name,
        kind: isVoiceChannel(room) ? 'voice' : dmUserId ? 'dm' : 'group',
        membership,
        dmUserId,
        avatarMxc: dmUserId ? room.getMember(dmUserId)?.getMxcAvatarUrl() : room.getMxcAvatarUrl() ?? undefined,
        unread: room.getUnreadNotificationCount(NotificationCountType.Total),
        mentions: room.getUnreadNotificationCount(NotificationCountType.Highlight),
        lastActive: room.getLastActiveTimestamp(),
        inviter: inviteEvent?.getSender(),
        friendRequest: !!inviteEvent?.getContent()['org.whisper.friend_request'],
      });
    }
    // Invites first, then the most recently active.
    return list.sort((a, b) => (a.membership === b.membership ? b.lastActive - a.lastActive : a.membership === 'invite' ? -1 : 1));
  }

  totalUnread(): { unread: number; mentions: number } {
    let unread = 0;
    let mentions = 0;
    for (const r of this.rooms()) {
      if (r.membership === 'invite') {
        unread += 1;
        continue;
      }
      unread += r.unread;
      mentions += r.mentions;
    }
    return { unread, mentions };
  }

  room(roomId: string): Room | null {
    return this.client.getRoom(roomId);
  }

  displayName(userId: string, room?: Room | null): string {
    return room?.getMember(userId)?.name ?? this.client.getUser(userId)?.displayName ?? userId;
  }

  // ---- timeline --------------------------------------------------------------------------

  /**
   * What the timeline draws: the room's window (its newest events unless the reader scrolled
   * back), then, at the newest end, the messages still being sent (not thread replies: those
   * show in their thread).
   */
  timeline(roomId: string): TimelineItem[] {
    const room = this.room(roomId);
    if (!room) return [];
    const events = this.windows.events(room);
    if (this.windows.atLive(room)) events.push(...pendingEvents(room).filter((e) => !isThreadReply(e)));
    return buildTimeline(events, (u) => this.displayName(u, room));
  }

  /** A thread's replies as the thread panel draws them (grouped, edits and reactions folded in). */
  threadTimeline(roomId: string, rootId: string): TimelineItem[] {
    const room = this.room(roomId);
    return buildTimeline(this.threads.replies(roomId, rootId), (u) => this.displayName(u, room));
  }

  /** Whether older history may exist beyond what is drawn. */
  hasMoreHistory(roomId: string): boolean {
    const room = this.room(roomId);
    return !!room && this.windows.hasOlder(room);
  }

  /** Draws an older page (loading it when needed); resolves false when the start of the room was reached. */
  async loadOlder(roomId: string, limit = PAGE_SIZE): Promise<boolean> {
    const room = this.room(roomId);
    return room ? this.windows.older(room, limit) : false;
  }

  isLoadingOlder(roomId: string): boolean {
    const room = this.room(roomId);
    return !!room && this.windows.isLoadingOlder(room);
  }

  /** Whether the newest messages are drawn (else the reader scrolled far back: "Jump to present"). */
  isAtLatest(roomId: string): boolean {
    const room = this.room(roomId);
    return !room || this.windows.atLive(room);
  }

  /** Draws a newer page (the reader scrolls down again after going far back). */
  async loadNewer(roomId: string, limit = PAGE_SIZE): Promise<boolean> {
    const room = this.room(roomId);
    return room ? this.windows.newer(room, limit) : false;
  }

  jumpToLatest(roomId: string): void {
    const room = this.room(roomId);
    if (room) this.windows.toLatest(room);
  }

  reactions(ev: MatrixEvent): ReactionSummary[] {
    const room = this.room(ev.getRoomId()!);
    const id = ev.getId();
    if (!room || !id) return [];
    // Reactions to a thread's replies live in that thread's timeline set.
    const set = (isThreadReply(ev) ? room.getThread(ev.threadRootId!)?.timelineSet : undefined) ?? room.getUnfilteredTimelineSet();
    const relations = set.relations.getChildEventsForEvent(id, RelationType.Annotation, EventType.Reaction);
    const sorted = relations?.getSortedAnnotationsByKey() ?? [];
    return sorted.map(([key, events]) => {
      const live = [...events].filter((e) => !e.isRedacted());
      return { key, count: live.length, mine: live.find((e) => e.getSender() === this.userId), senders: live.map((e) => e.getSender()!) };
    }).filter((r) => r.count > 0);
  }

  /** The message `ev` replies to, when it is loaded. */
  replyTarget(ev: MatrixEvent): MatrixEvent | undefined {
    const id = shownReplyId(ev);
    return id ? this.room(ev.getRoomId()!)?.findEventById(id) : undefined;
  }

  /** Who has read up to exactly this event (not counting its sender or me). */
  readBy(ev: MatrixEvent): string[] {
    const room = this.room(ev.getRoomId()!);
    if (!room) return [];
    return room.getUsersReadUpTo(ev).filter((u) => u !== this.userId && u !== ev.getSender());
  }

  typingUsers(roomId: string): string[] {
    const room = this.room(roomId);
    if (!room) return [];
    return room.getMembers().filter((m) => m.typing && m.userId !== this.userId).map((m) => m.name);
  }

  /** Message text after edits, without the reply fallback quote. */
  static bodyOf(ev: MatrixEvent): string {
    // The sdk fills an undecryptable message with its error text; say what the user can expect instead.
    if (ev.isDecryptionFailure()) return WAITING_FOR_KEY;
    // Its body is a fallback for clients that cannot verify; this one can (views/verification.ts).
    if (ev.getContent().msgtype === 'm.key.verification.request') return 'Wants to verify you';
    const body: string = ev.getContent().body ?? '';
    if (!shownReplyId(ev)) return body;
    const lines = body.split('\n');
    let i = 0;
    while (i < lines.length && lines[i].startsWith('>')) i++;
    if (i > 0 && lines[i] === '') i++;
    return lines.slice(i).join('\n');
  }

  // ---- acts ------------------------------------------------------------------------------

  async sendText(roomId: string, text: string, replyTo?: MatrixEvent): Promise<string> {
    const content: Record<string, unknown> = textContent(text);
    if (replyTo?.getId()) content['m.relates_to'] = { 'm.in_reply_to': { event_id: replyTo.getId() } };
    this.lastTypingSent.delete(roomId);
    const res = await this.client.sendEvent(roomId, EventType.RoomMessage, content as any);
    return res.event_id;
  }

  async edit(ev: MatrixEvent, text: string): Promise<void> {
    const content = textContent(text);
    await this.client.sendEvent(ev.getRoomId()!, EventType.RoomMessage, {
      ...content,
      body: `* ${text}`,
      ...(content.formatted_body ? { formatted_body: `* ${content.formatted_body}` } : {}),
      'm.new_content': content,
      'm.relates_to': { rel_type: RelationType.Replace, event_id: ev.getId()! },
    } as any);
  }

  /** Adds the reaction, or takes it back when the user already reacted with this key. */
  async toggleReaction(ev: MatrixEvent, key: string): Promise<void> {
    const mine = this.reactions(ev).find((r) => r.key === key)?.mine;
    if (mine?.getId()) {
      await this.client.redactEvent(ev.getRoomId()!, mine.getId()!);
      return;
    }
    await this.client.sendEvent(ev.getRoomId()!, EventType.Reaction, { 'm.relates_to': { rel_type: RelationType.Annotation, event_id: ev.getId()!, key } } as any);
  }

  async redact(ev: MatrixEvent): Promise<void> {
    await this.client.redactEvent(ev.getRoomId()!, ev.getId()!);
  }

  /** Tells the room the user is typing, at most every few seconds; false stops it. */
  setTyping(roomId: string, typing: boolean): void {
    const last = this.lastTypingSent.get(roomId) ?? 0;
    if (typing && Date.now() - last < 3000) return;
    if (!typing && !last) return;
    if (typing) this.lastTypingSent.set(roomId, Date.now());
    else this.lastTypingSent.delete(roomId);
    void this.client.sendTyping(roomId, typing, 5000).catch(() => {});
  }

  /** The last event the user had read, when newer messages are unread: where "New" goes. */
  unreadMarker(roomId: string): string | undefined {
    const room = this.room(roomId);
    // The room's own count: unread thread replies show on their thread, not here.
    if (!room || room.getRoomUnreadNotificationCount(NotificationCountType.Total) === 0) return undefined;
    return room.getEventReadUpTo(this.userId) ?? undefined;
  }

  /** Sends a read receipt for the newest event and clears the room's badge. */
  async markRead(roomId: string): Promise<void> {
    const room = this.room(roomId);
    if (!room) return;
    const events = room.getLiveTimeline().getEvents();
    const last = [...events].reverse().find((e) => e.getId() && !e.getId()!.startsWith('~') && !e.status);
    if (!last) return;
    const unread = room.getRoomUnreadNotificationCount(NotificationCountType.Total) > 0;
    if (!unread && room.getEventReadUpTo(this.userId) === last.getId()) return;
    room.setUnreadNotificationCount(NotificationCountType.Total, 0);
    room.setUnreadNotificationCount(NotificationCountType.Highlight, 0);
    this.changed();
    await this.client.sendReadReceipt(last).catch(() => {});
  }

  /**
   * Uploads a file with progress in `uploads`, then posts it as an image/video/file message (in
   * the thread `threadId` when given). In an encrypted room the file is encrypted before it
   * leaves the browser (attachments.ts), and so is the thumbnail a big picture is shown from.
   */
  async sendFile(roomId: string, file: Blob, name: string, info: { w?: number; h?: number } = {}, threadId?: string): Promise<void> {
    const upload: UploadState = { id: ++this.uploadCounter, roomId, threadId, name, loaded: 0, total: file.size };
    this.uploads = [...this.uploads, upload];
    this.changed();
    try {
      const mimetype = file.type || 'application/octet-stream';
      const msgtype = mimetype.startsWith('image/') ? 'm.image' : mimetype.startsWith('video/') ? 'm.video' : 'm.file';
      const content: Record<string, any> = { msgtype, body: name, info: { mimetype, size: file.size, ...info } };
      if (this.client.getRoom(roomId)?.hasEncryptionStateEvent()) {
        content.file = await this.uploadSealed(file, mimetype, (loaded, total) => { upload.loaded = loaded; upload.total = total; this.changed(); });
        const thumb = msgtype === 'm.image' && isBigImage(content.info) ? await makeThumbnail(file) : undefined;
        if (thumb) {
          content.info.thumbnail_file = await this.uploadSealed(thumb.blob, thumb.blob.type);
          content.info.thumbnail_info = { mimetype: thumb.blob.type, size: thumb.blob.size, w: thumb.w, h: thumb.h };
        }
      } else {
        const { content_uri } = await this.client.uploadContent(file, {
          name, type: mimetype, progressHandler: ({ loaded, total }) => { upload.loaded = loaded; upload.total = total; this.changed(); },
        });
        content.url = content_uri;
      }
      if (threadId) this.threads.open(roomId, threadId);
      // With a thread id the sdk adds the thread relation (and the reply fallback older clients show).
      await this.client.sendEvent(roomId, threadId ?? null, EventType.RoomMessage, content as any);
      this.uploads = this.uploads.filter((u) => u !== upload);
    } catch (err) {
      upload.error = (err as Error).message;
      throw err;
    } finally {
      this.changed();
    }
  }

  /** Encrypts and uploads `file`; the EncryptedFile that opens it. The upload names neither the file nor its type. */
  private async uploadSealed(file: Blob, mimetype: string, progress?: (loaded: number, total: number) => void): Promise<EncryptedFile & { mimetype: string }> {
    const sealed = await sealFile(file);
    const { content_uri } = await this.client.uploadContent(sealed.data, {
      includeFilename: false, type: 'application/octet-stream', progressHandler: progress && (({ loaded, total }) => progress(loaded, total)),
    });
    return { ...sealed.file, url: content_uri, mimetype };
  }

  dismissUpload(id: number): void {
    this.uploads = this.uploads.filter((u) => u.id !== id);
    this.changed();
  }

  async search(term: string, roomId?: string): Promise<SearchHit[]> {
    // Encrypted chats are searched here, in what this session decrypted; the server sees only ciphertext.
    const local = searchDecrypted(roomId ? [this.room(roomId)].filter((r) => !!r) : this.client.getRooms(), term);
    if (roomId && this.room(roomId)?.hasEncryptionStateEvent()) return local;
    const res = await this.client.search({
      body: { search_categories: { room_events: { search_term: term, order_by: 'recent' as any, filter: roomId ? { rooms: [roomId] } : undefined } } },
    });
    return [...local, ...(res.search_categories.room_events?.results ?? []).map((r) => ({
      eventId: r.result.event_id, roomId: r.result.room_id, sender: r.result.sender, body: (r.result.content as any)?.body ?? '', ts: r.result.origin_server_ts,
    }))];
  }

  /** `encrypted` (the creation dialog's toggle) needs encryption running on this session. */
  async createGroup(name: string, invite: string[], encrypted = false): Promise<string> {
    await cryptoSettled(this.client);
    const initial_state = encrypted && this.client.getCrypto() ? [encryptionStateEvent()] : undefined;
    const { room_id } = await this.client.createRoom({ name, preset: Preset.PrivateChat, invite, initial_state });
    return room_id;
  }

  /** A voice channel: a room with creation type org.whisper.voice, its call state writable by members (the server writes it for them). */
  async createVoiceChannel(name: string, invite: string[]): Promise<string> {
    const { room_id } = await this.client.createRoom({ name, preset: Preset.PrivateChat, invite, creation_content: { type: VOICE_ROOM_TYPE } });
    return room_id;
  }

  /** Opens the existing DM with `userId`, or starts one (invite + m.direct). */
  async startDm(userId: string): Promise<string> {
    const existing = (this.directMap()[userId] ?? []).find((id) => {
      const m = this.room(id)?.getMyMembership();
      return m === 'join' || m === 'invite';
    });
    if (existing) return existing;
    // Encrypted by default, as in Element, whenever this session runs encryption.
    await cryptoSettled(this.client);
    const initial_state = this.client.getCrypto() ? [encryptionStateEvent()] : undefined;
    const { room_id } = await this.client.createRoom({ is_direct: true, invite: [userId], preset: Preset.TrustedPrivateChat, initial_state });
    await this.addDirect(userId, room_id);
    return room_id;
  }

  private async addDirect(userId: string, roomId: string): Promise<void> {
    const direct = { ...this.directMap() };
    direct[userId] = [...new Set([...(direct[userId] ?? []), roomId])];
    await this.client.setAccountData(EventType.Direct, direct as any);
    // The sdk's copy changes only when sync echoes it back: wait (briefly) so a second
    // startDm right after finds this room instead of making another.
    const has = () => (this.directMap()[userId] ?? []).includes(roomId);
    if (has()) return;
    const client = this.client;
    await new Promise<void>((resolve) => {
      const onData = () => { if (has()) done(); };
      const done = () => {
        clearTimeout(timer);
        client.off(ClientEvent.AccountData, onData);
        resolve();
      };
      const timer = setTimeout(done, 5000);
      client.on(ClientEvent.AccountData, onData);
    });
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.client.invite(roomId, userId);
  }

  /** Joins an invited room; a DM invite is recorded in m.direct so it shows as a DM. */
  async acceptInvite(roomId: string): Promise<void> {
    const room = this.room(roomId);
    const partner = room ? this.dmPartner(room) : undefined;
    await this.client.joinRoom(roomId);
    if (partner) await this.addDirect(partner, roomId);
  }

  async leave(roomId: string): Promise<void> {
    await this.client.leave(roomId);
  }

  // ---- profile and devices ---------------------------------------------------------------

  private async loadOwnProfile(): Promise<void> {
    try {
      const p = await this.client.getProfileInfo(this.userId);
      this.ownProfile = { displayName: p.displayname ?? this.ownProfile.displayName, avatarMxc: p.avatar_url ?? this.ownProfile.avatarMxc };
      this.changed();
    } catch {
      // No profile yet: the user id stands in.
    }
  }

  profile(): { displayName: string; avatarMxc?: string } {
    return { displayName: this.ownProfile.displayName || this.userId, avatarMxc: this.ownProfile.avatarMxc };
  }

  async setDisplayName(name: string): Promise<void> {
    await this.client.setDisplayName(name);
    this.ownProfile = { ...this.ownProfile, displayName: name };
    this.changed();
  }

  async setAvatar(file: Blob, name: string): Promise<void> {
    const { content_uri } = await this.client.uploadContent(file, { name, type: file.type });
    await this.client.setAvatarUrl(content_uri);
    this.ownProfile = { ...this.ownProfile, avatarMxc: content_uri };
    this.changed();
  }

  async devices(): Promise<DeviceInfo[]> {
    const { devices } = await this.client.getDevices();
    const current = this.client.getDeviceId();
    return devices
      .map((d) => ({ deviceId: d.device_id, displayName: d.display_name, lastSeenIp: d.last_seen_ip, lastSeenTs: d.last_seen_ts, current: d.device_id === current }))
      .sort((a, b) => Number(b.current) - Number(a.current) || (b.lastSeenTs ?? 0) - (a.lastSeenTs ?? 0));
  }

  /**
   * Signs a session out through user-interactive auth: `password`, when given, answers the
   * password stage once; anything else (a retry, the 2FA code) is asked through authPrompt.
   */
  async deleteDevice(deviceId: string, password?: string): Promise<void> {
    let offered = password;
    await withUia(this.userId, (auth) => this.client.deleteDevice(deviceId, auth as any), (stage, error) => {
      if (stage === 'm.login.password' && offered !== undefined && !error) {
        const p = offered;
        offered = undefined;
        return Promise.resolve(p);
      }
      if (offered === undefined && password !== undefined && stage === 'm.login.password') return Promise.reject(new Error(error ?? 'Wrong password'));
      return this.authPrompt(stage, error);
    });
  }
}
