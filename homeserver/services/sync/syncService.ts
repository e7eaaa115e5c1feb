/**
 * /sync: what changed for a user between two stream positions, and the long-poll that waits
 * for the next change. The upper bound of a sync is the notifier's position, below which
 * every event has committed, so a reader never skips an event a slower writer still holds.
 */
import type { Db } from '../../storage/database.ts';
import * as aliasesStore from '../../storage/aliases.ts';
import * as events from '../../storage/events.ts';
import * as friendsStore from '../../storage/friends.ts';
import * as receiptsStore from '../../storage/receipts.ts';
import * as roomState from '../../storage/roomState.ts';
import * as typingStore from '../../storage/typing.ts';
import type { PushService } from '../push/pushService.ts';
import { buildPushRules } from '../push/ruleset.ts';
import type { AccountDataService } from '../streams/accountData.ts';
import type { ReceiptService } from '../streams/receipts.ts';
import type { TypingService } from '../streams/typing.ts';
import type { DeviceListService, MemberEvent, OwnRoom } from '../e2ee/deviceLists.ts';
import type { OwnRooms } from './ownRooms.ts';
import type { HeardEvents } from './heardEvents.ts';
import type { RecentEventRows } from './recentRows.ts';
import type { BlockLists } from '../friends/blockLists.ts';
import type { KeyService } from '../e2ee/keys.ts';
import type { ToDeviceService } from '../e2ee/toDevice.ts';
import type { PresenceService, PresenceState } from '../presence.ts';
import { toClientEvents, strippedState, type ClientEvent } from '../rooms/clientEvents.ts';
import { VisibilityFilter } from '../rooms/visibility.ts';
import type { Requester } from '../sessions.ts';
import { eventSelected, roomSelected, timelineLimit, type Filter, type RoomEventFilter } from './filter.ts';
import type { Notifier } from './notifier.ts';
import { encodePaginationToken, encodeSyncToken, maxToken, zeroToken, type SyncToken } from './tokens.ts';

export interface SyncRequest {
  since?: SyncToken;
  timeoutMs: number;
  fullState: boolean;
  filter: Filter;
  /** The client's `set_presence` (online when absent). */
  setPresence?: PresenceState;
  signal?: AbortSignal;
}

interface JoinedRoomResult {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch: string };
  state: { events: ClientEvent[] };
  ephemeral: { events: unknown[] };
  account_data: { events: unknown[] };
  unread_notifications: { notification_count: number; highlight_count: number };
  unread_thread_notifications?: Record<string, { notification_count: number; highlight_count: number }>;
  summary: Record<string, unknown>;
}

/** Where a room section's windows start and end, per stream. */
interface Window {
  after: SyncToken;
  upTo: SyncToken;
}

export interface SyncResponse {
  next_batch: string;
  rooms: {
    join: Record<string, JoinedRoomResult>;
    invite: Record<string, { invite_state: { events: unknown[] } }>;
    leave: Record<string, { timeline: JoinedRoomResult['timeline']; state: { events: ClientEvent[] } }>;
    knock: Record<string, { knock_state: { events: unknown[] } }>;
  };
  presence: { events: unknown[] };
  account_data: { events: unknown[] };
  to_device: { events: unknown[] };
  device_lists: { changed: string[]; left: string[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

/** State shown with an invite so a client can render it (spec: stripped state). */
const INVITE_STATE_TYPES = ['m.room.create', 'm.room.name', 'm.room.avatar', 'm.room.topic', 'm.room.join_rules', 'm.room.canonical_alias', 'm.room.encryption'];
const HERO_COUNT = 5;
/** The longest window of one room's events that a sync filters in memory rather than by a query. */
const MEMORY_WINDOW_MAX = 200;

const ZERO: SyncToken = zeroToken();

export class SyncService {
  private readonly db: Db;
  private readonly notifier: Notifier;
  private readonly accountData: AccountDataService;
  private readonly receipts: ReceiptService;
  private readonly typing: TypingService;
  private readonly push: PushService;
  private readonly keys: KeyService;
  private readonly deviceLists: DeviceListService;
  private readonly toDevice: ToDeviceService;
  private readonly presence: PresenceService;
  private readonly ownRooms: OwnRooms;
  private readonly blocks: BlockLists;
  private readonly heard: HeardEvents;
  private readonly recent: RecentEventRows;

  constructor(deps: {
    db: Db; notifier: Notifier; accountData: AccountDataService; receipts: ReceiptService; typing: TypingService; push: PushService;
    keys: KeyService; deviceLists: DeviceListService; toDevice: ToDeviceService; presence: PresenceService; ownRooms: OwnRooms;
    blocks: BlockLists; heard: HeardEvents; recent: RecentEventRows;
  }) {
    this.recent = deps.recent;
    this.blocks = deps.blocks;
    this.heard = deps.heard;
    this.db = deps.db;
    this.notifier = deps.notifier;
    this.accountData = deps.accountData;
    this.receipts = deps.receipts;
    this.typing = deps.typing;
    this.push = deps.push;
    this.keys = deps.keys;
    this.deviceLists = deps.deviceLists;
    this.toDevice = deps.toDevice;
    this.presence = deps.presence;
    this.ownRooms = deps.ownRooms;
  }

  async sync(requester: Requester, req: SyncRequest): Promise<SyncResponse> {
    const done = await this.presence.syncStarted(requester.userId, req.setPresence);
    try {
      return await this.withKeyCounts(requester, await this.poll(requester, req));
    } finally {
      done();
    }
  }

  private async poll(requester: Requester, req: SyncRequest): Promise<SyncResponse> {
    const deadline = Date.now() + req.timeoutMs;
    // A token from a process that is ahead of this one: never answer with an older one.
    const head = () => (req.since ? maxToken(this.notifier.current(), req.since) : this.notifier.current());
    for (;;) {
      // A re-poll with nothing new for this user since its token waits without reading the database.
      if (req.since && !req.fullState && this.notifier.nothingNewFor(requester.userId, req.since) && Date.now() < deadline && !this.notifier.closed) {
        await this.notifier.waitForUser(requester.userId, req.since, deadline - Date.now(), req.signal);
        if (req.signal?.aborted || this.notifier.closed || Date.now() >= deadline) return this.compute(requester, req, head());
        continue;
      }
      const upTo = head();
      const response = await this.compute(requester, req, upTo);
      const remaining = deadline - Date.now();
      if (!req.since || !isEmpty(response) || remaining <= 0 || req.signal?.aborted) return response;
      await this.notifier.waitForUser(requester.userId, upTo, remaining, req.signal);
      // Answer now when the wait ended for good: timeout, the client went away, or shutdown.
      if (req.signal?.aborted || this.notifier.closed || Date.now() >= deadline) return this.compute(requester, req, head());
    }
  }

  /** One-time key counts go with every answer (read once, when the answer is final). */
  private async withKeyCounts(requester: Requester, response: SyncResponse): Promise<SyncResponse> {
    const { counts, unusedFallback: fallback } = await this.keys.keyCountsForSync(requester.userId, requester.deviceId);
    // Clients read a missing algorithm as "unknown", not zero: say zero for the one they use.
    response.device_one_time_keys_count = { signed_curve25519: 0, ...counts };
    response.device_unused_fallback_key_types = fallback;
    return response;
  }

  /** To-device messages for this device, whose device lists the client must re-read, and presence. */
  private async encryption(requester: Requester, initial: boolean, w: Window, response: SyncResponse, known: { ownRooms: OwnRoom[]; memberEvents: MemberEvent[] }): Promise<number> {
    const [toDevice, lists, presence] = await Promise.all([
      this.toDevice.forSync(requester.userId, requester.deviceId, w.after.to_device, w.upTo.to_device),
      initial ? { changed: [], left: [] } : this.deviceLists.changesFor(requester.userId, w.after, w.upTo, known),
      this.presence.forSync(requester.userId, initial, w.after.presence, w.upTo.presence, w.upTo.events),
    ]);
    response.to_device.events = toDevice.events;
    response.device_lists = lists;
    response.presence.events = presence;
    return toDevice.position;
  }

  private async compute(requester: Requester, req: SyncRequest, upToToken: SyncToken): Promise<SyncResponse> {
    const afterToken = req.since ?? ZERO;
    const after = afterToken.events;
    const upTo = upToToken.events;
    const initial = !req.since;
    const window: Window = { after: afterToken, upTo: upToToken };
    const response: SyncResponse = {
      next_batch: '',
      rooms: { join: {}, invite: {}, leave: {}, knock: {} },
      presence: { events: [] },
      account_data: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
      device_unused_fallback_key_types: [],
    };
    const userId = requester.userId;
    // Read once: the device lists and the room sections both start from it.
    const ownRooms = await this.ownRooms.of(userId, upTo);
    // Membership events of the window in every room where the user's own membership may have
    // changed in it (current state is then newer than the token) or that they are in: their
    // own changes shape the room sections, everyone's the device lists.
    const roomsInPlay = ownRooms.filter((r) => r.membership === 'join' || r.stream_ordering > after).map((r) => r.room_id);
    // Known here without reading when this process heard every event of the window.
    const overview = initial ? undefined : this.heard.overview(roomsInPlay, after, upTo) ?? await events.windowOverview(this.db, roomsInPlay, after, upTo);
    const memberEvents = overview?.memberEvents ?? [];
    const changedRooms = new Set(memberEvents.filter((e) => e.user_id === userId).map((e) => e.room_id));
    const toDevicePosition = await this.encryption(requester, initial, window, response, { ownRooms, memberEvents });
    const memberships = await this.membershipsAt(ownRooms, userId, upTo);

    const joined = [...memberships].filter(([, m]) => m.membership === 'join').map(([roomId]) => roomId);
    // Each stream is read only when it moved since the token (most syncs wake for one room's event).
    const moved = (stream: keyof SyncToken) => initial || upToToken[stream] > afterToken[stream];
    const accountData = moved('account_data') ? await this.accountData.between(userId, afterToken.account_data, upToToken.account_data) : [];
    response.account_data.events = accountData.filter((a) => a.room_id === '').map((a) => ({ type: a.type, content: a.content }));
    if (initial && !accountData.some((a) => a.room_id === '' && a.type === 'm.push_rules')) {
      response.account_data.events.push({ type: 'm.push_rules', content: buildPushRules(userId) });
    }
    const roomAccountData = new Map<string, unknown[]>();
    for (const a of accountData.filter((a) => a.room_id !== '')) {
      roomAccountData.set(a.room_id, [...(roomAccountData.get(a.room_id) ?? []), { type: a.type, content: a.content }]);
    }

    let active: Set<string>;
    // Rooms whose receipts or typing moved (undefined: look at every active room).
    let ephemeralRooms: Set<string> | undefined;
    if (initial || req.fullState) {
      active = new Set(joined);
    } else {
      const none = Promise.resolve(new Set<string>());
      const [withEvents, withReceipts, withTyping] = await Promise.all([
        Promise.resolve(new Set(joined.filter((r) => overview?.roomsWithEvents.has(r)))),
        moved('receipts') ? receiptsStore.roomsWithReceiptsBetween(this.db, joined, afterToken.receipts, upToToken.receipts) : none,
        moved('typing') ? typingStore.roomsWithTypingChangesBetween(this.db, joined, afterToken.typing, upToToken.typing) : none,
      ]);
      ephemeralRooms = new Set([...withReceipts, ...withTyping]);
      active = new Set([...withEvents, ...withReceipts, ...withTyping, ...[...roomAccountData.keys()].filter((r) => joined.includes(r))]);
      for (const roomId of changedRooms) if (memberships.get(roomId)?.membership === 'join') active.add(roomId);
    }

    for (const roomId of active) {
      if (!roomSelected(req.filter, roomId)) continue;
      const fresh = initial || req.fullState || changedRooms.has(roomId);
      const room = await this.joinedRoom(requester, roomId, fresh ? 0 : after, upTo, req.filter, fresh, false);
      const ephemeral = fresh || !ephemeralRooms || ephemeralRooms.has(roomId)
        ? await this.ephemeral(roomId, userId, fresh ? { after: ZERO, upTo: upToToken } : window)
        : [];
      const roomData = roomAccountData.get(roomId) ?? [];
      if (!room && ephemeral.length === 0 && roomData.length === 0) continue;
      const section = room ?? (await this.joinedRoom(requester, roomId, upTo, upTo, req.filter, false, true))!;
      section.ephemeral.events = ephemeral;
      section.account_data.events = roomData;
      response.rooms.join[roomId] = section;
    }

    const others = [...memberships].filter(([roomId, m]) => m.membership !== 'join' && (initial || changedRooms.has(roomId)));
    const forgotten = others.length ? await aliasesStore.forgottenRooms(this.db, userId) : new Set<string>();
    // Invites from users this user blocked never reach them, nor does the room's later leave.
    const hidden = others.length ? await friendsStore.hiddenInviteRooms(this.db, userId, others.map(([roomId]) => roomId)) : new Set<string>();
    for (const [roomId, m] of others) {
      if (!roomSelected(req.filter, roomId) || forgotten.has(roomId) || hidden.has(roomId)) continue;
      const changedHere = changedRooms.has(roomId);
      if (m.membership === 'invite' && (initial || changedHere)) {
        response.rooms.invite[roomId] = { invite_state: { events: await this.inviteState(roomId, userId, m.position) } };
      } else if (m.membership === 'knock' && (initial || changedHere)) {
        response.rooms.knock[roomId] = { knock_state: { events: await this.inviteState(roomId, userId, m.position) } };
      } else if ((m.membership === 'leave' || m.membership === 'ban') && (changedHere || (initial && req.filter.room?.include_leave))) {
        const left = await this.leftRoom(requester, roomId, initial ? 0 : after, m.position, req.filter);
        if (left) response.rooms.leave[roomId] = left;
      }
    }
    // A long to-device backlog comes in parts: the token then points just past the part sent.
    response.next_batch = encodeSyncToken({ ...upToToken, to_device: toDevicePosition });
    return response;
  }

  /** The user's membership in each room as of `upTo` (current state may already be ahead). */
  private async membershipsAt(rows: OwnRoom[], userId: string, upTo: number): Promise<Map<string, { membership: string; position: number }>> {
    const out = new Map<string, { membership: string; position: number }>();
    for (const r of rows) {
      if (r.stream_ordering <= upTo) {
        out.set(r.room_id, { membership: r.membership, position: r.stream_ordering });
        continue;
      }
      const history = (await events.membershipHistory(this.db, r.room_id, userId)).filter((h) => h.stream_ordering <= upTo);
      const last = history.at(-1);
      if (last) out.set(r.room_id, { membership: last.membership, position: last.stream_ordering });
    }
    return out;
  }

  /** m.typing and m.receipt for a room, when they changed in the window. */
  private async ephemeral(roomId: string, userId: string, w: Window): Promise<unknown[]> {
    const out: unknown[] = [];
    if (w.after.typing === 0 || (await typingStore.roomsWithTypingChangesBetween(this.db, [roomId], w.after.typing, w.upTo.typing)).size) {
      const typing = await this.typing.typingIn(roomId);
      if (w.after.typing !== 0 || typing.length) out.push({ type: 'm.typing', content: { user_ids: typing } });
    }
    const receipt = await this.receipts.receiptEvent(roomId, userId, w.after.receipts, w.upTo.receipts);
    if (receipt) out.push(receipt);
    return out;
  }

  private async joinedRoom(requester: Requester, roomId: string, after: number, upTo: number, filter: Filter, fresh: boolean, always = false): Promise<JoinedRoomResult | undefined> {
    // Not fresh: the user was joined for the whole window, so every event in it is visible.
    const { timeline, limited, timelineStart, section } = await this.timeline(requester, roomId, after, upTo, filter, !fresh);
    // Fresh rooms get their whole state at the timeline's start; others what changed since.
    let stateRows = fresh || limited ? await events.stateEventsBetween(this.db, roomId, fresh ? 0 : after, timelineStart) : [];
    if (filter.room?.state?.lazy_load_members) {
      const senders = new Set([requester.userId, ...timeline.map((e) => e.sender)]);
      stateRows = stateRows.filter((e) => e.type !== 'm.room.member' || senders.has(e.state_key ?? ''));
    }
    stateRows = stateRows.filter((e) => eventSelected(filter.room?.state, e));
    if (!fresh && !always && timeline.length === 0 && stateRows.length === 0) return undefined;
    const hasMemberChange = fresh || [...timeline, ...stateRows].some((e) => e.type === 'm.room.member');
    const counts = await this.push.unreadCounts(requester.userId, roomId);
    const threaded = filter.room?.timeline && (filter.room.timeline as { unread_thread_notifications?: boolean }).unread_thread_notifications;
    return {
      timeline: await section(),
      state: { events: await toClientEvents(this.db, stateRows, requester) },
      ephemeral: { events: [] },
      account_data: { events: [] },
      unread_notifications: threaded ? counts.main : sumCounts(counts),
      ...(threaded ? { unread_thread_notifications: counts.threads } : {}),
      summary: hasMemberChange ? await this.summary(roomId, requester.userId) : {},
    };
  }

  private async leftRoom(requester: Requester, roomId: string, after: number, leftAt: number, filter: Filter) {
    const { timelineStart, section } = await this.timeline(requester, roomId, after, leftAt, filter, false);
    const stateRows = await events.stateEventsBetween(this.db, roomId, after, timelineStart);
    return { timeline: await section(), state: { events: await toClientEvents(this.db, stateRows, requester) } };
  }

  /**
   * The newest `limit` events in (after, upTo], oldest first, whether more were skipped, the
   * position just before them, and `section()` to render the timeline as the user may see it.
   */
  private async timeline(requester: Requester, roomId: string, after: number, upTo: number, filter: Filter, joinedThroughout = false) {
    const limit = timelineLimit(filter);
    const f = filter.room?.timeline;
    const blocked = await this.blocks.blockedBy(requester.userId);
    const rows = await this.recentTimeline(roomId, after, upTo, limit + 1, f, blocked) ?? await events.roomEvents(this.db, roomId, {
      after, upTo, dir: 'b', limit: limit + 1, types: f?.types, notTypes: f?.not_types, senders: f?.senders, notSenders: f?.not_senders,
      // Messages of users this user blocked never reach their timelines.
      hiddenFor: requester.userId,
      blocked: [...blocked],
    });
    const limited = rows.length > limit;
    const timeline = rows.slice(0, limit).reverse();
    const visibility = joinedThroughout || timeline.length === 0 ? undefined : await VisibilityFilter.forUser(this.db, roomId, requester.userId);
    const timelineStart = timeline.length ? timeline[0].stream_ordering - 1 : upTo;
    const section = async () => ({
      events: await toClientEvents(this.db, visibility ? timeline.filter((e) => visibility.canSee(e.stream_ordering)) : timeline, requester),
      limited,
      prev_batch: encodePaginationToken(timelineStart),
    });
    return { timeline, limited, timelineStart, section };
  }

  /**
   * What `events.roomEvents` would answer for a short window this process heard in full, from
   * the rows of recent events: the members of a room who wake for the same event share its row.
   * Undefined when the window is not known here, or too long to filter in memory.
   */
  private async recentTimeline(roomId: string, after: number, upTo: number, limit: number, f: RoomEventFilter | undefined, blocked: ReadonlySet<string>) {
    // The query matches types exactly and takes an empty list as no filter: only filters that
    // mean the same to eventSelected are applied here.
    const lists = [f?.types, f?.not_types, f?.senders, f?.not_senders];
    if (lists.some((l) => l && l.length === 0) || [...(f?.types ?? []), ...(f?.not_types ?? [])].some((t) => t.endsWith('*'))) return undefined;
    const positions = this.heard.positionsIn(roomId, after, upTo);
    if (!positions || positions.length > MEMORY_WINDOW_MAX) return undefined;
    const rows = await this.recent.at(positions);
    return rows
      .filter((r) => eventSelected(f, r) && (r.state_key !== null || !blocked.has(r.sender)))
      .reverse()
      .slice(0, limit);
  }

  private async inviteState(roomId: string, userId: string, invitePosition: number): Promise<unknown[]> {
    const rows = await events.stateEventsBetween(this.db, roomId, 0, invitePosition);
    const invite = rows.find((e) => e.type === 'm.room.member' && e.state_key === userId);
    const inviter = invite && rows.find((e) => e.type === 'm.room.member' && e.state_key === invite.sender);
    const picked = rows.filter((e) => INVITE_STATE_TYPES.includes(e.type));
    return strippedState([...picked, ...(inviter ? [inviter] : []), ...(invite ? [invite] : [])]);
  }

  /** Spec: room summary — heroes and member counts, for naming rooms without a name. */
  private async summary(roomId: string, userId: string): Promise<Record<string, unknown>> {
    const members = await roomState.roomMembers(this.db, roomId, ['join', 'invite']);
    const others = members.filter((m) => m.user_id !== userId).map((m) => m.user_id).sort();
    return {
      'm.heroes': others.slice(0, HERO_COUNT),
      'm.joined_member_count': members.filter((m) => m.membership === 'join').length,
      'm.invited_member_count': members.filter((m) => m.membership === 'invite').length,
    };
  }
}

/** Without thread-aware clients, threads count toward the room. */
function sumCounts(c: { main: { notification_count: number; highlight_count: number }; threads: Record<string, { notification_count: number; highlight_count: number }> }) {
  const all = [c.main, ...Object.values(c.threads)];
  return {
    notification_count: all.reduce((n, x) => n + x.notification_count, 0),
    highlight_count: all.reduce((n, x) => n + x.highlight_count, 0),
  };
}

function isEmpty(r: SyncResponse): boolean {
  const rooms = r.rooms;
  return (
    Object.keys(rooms.join).length === 0 &&
    Object.keys(rooms.invite).length === 0 &&
    Object.keys(rooms.leave).length === 0 &&
    Object.keys(rooms.knock).length === 0 &&
    r.account_data.events.length === 0 &&
    r.to_device.events.length === 0 &&
    r.device_lists.changed.length === 0 &&
    r.device_lists.left.length === 0 &&
    r.presence.events.length === 0
  );
}
