/**
 * /sync: what changed for a user between two stream positions, and the long-poll that waits
 * for the next change. The upper bound of a sync is the notifier's position, below which
 * every event has committed, so a reader never skips an event a slower writer still holds.
 */
import type { Db } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as roomState from '../../storage/roomState.ts';
import { toClientEvents, strippedState, type ClientEvent } from '../rooms/clientEvents.ts';
import { VisibilityFilter } from '../rooms/visibility.ts';
import type { Requester } from '../sessions.ts';
import { eventSelected, roomSelected, timelineLimit, type Filter } from './filter.ts';
import type { Notifier } from './notifier.ts';
import { encodePaginationToken, encodeSyncToken, type SyncToken } from './tokens.ts';

export interface SyncRequest {
  since?: SyncToken;
  timeoutMs: number;
  fullState: boolean;
  filter: Filter;
  signal?: AbortSignal;
}

interface JoinedRoomResult {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch: string };
  state: { events: ClientEvent[] };
  ephemeral: { events: unknown[] };
  account_data: { events: unknown[] };
  unread_notifications: { notification_count: number; highlight_count: number };
  summary: Record<string, unknown>;
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
}

/** State shown with an invite so a client can render it (spec: stripped state). */
const INVITE_STATE_TYPES = ['m.room.create', 'm.room.name', 'm.room.avatar', 'm.room.topic', 'm.room.join_rules', 'm.room.canonical_alias', 'm.room.encryption'];
const HERO_COUNT = 5;

export class SyncService {
  private readonly db: Db;
  private readonly notifier: Notifier;

  constructor(db: Db, notifier: Notifier) {
    this.db = db;
    this.notifier = notifier;
  }

  async sync(requester: Requester, req: SyncRequest): Promise<SyncResponse> {
    const deadline = Date.now() + req.timeoutMs;
    for (;;) {
      const upTo = Math.max(this.notifier.currentPosition(), req.since?.events ?? 0);
      const response = await this.compute(requester, req, upTo);
      const remaining = deadline - Date.now();
      if (!req.since || !isEmpty(response) || remaining <= 0 || req.signal?.aborted) return response;
      await this.notifier.waitForUser(requester.userId, upTo, remaining, req.signal);
      if (req.signal?.aborted || Date.now() >= deadline) {
        return this.compute(requester, req, Math.max(this.notifier.currentPosition(), req.since.events));
      }
    }
  }

  private async compute(requester: Requester, req: SyncRequest, upTo: number): Promise<SyncResponse> {
    const after = req.since?.events ?? 0;
    const initial = !req.since;
    const response: SyncResponse = {
      next_batch: encodeSyncToken({ events: upTo }),
      rooms: { join: {}, invite: {}, leave: {}, knock: {} },
      presence: { events: [] },
      account_data: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
    };
    const userId = requester.userId;
    const changes = initial ? [] : await events.membershipChangesOf(this.db, userId, after, upTo);
    const changedRooms = new Map(changes.map((c) => [c.room_id, c]));
    const memberships = await this.membershipsAt(userId, upTo);

    const joined = [...memberships].filter(([, m]) => m.membership === 'join').map(([roomId]) => roomId);
    const active = initial || req.fullState ? new Set(joined) : await events.roomsWithEventsBetween(this.db, joined, after, upTo);
    for (const roomId of changedRooms.keys()) if (memberships.get(roomId)?.membership === 'join') active.add(roomId);

    for (const roomId of active) {
      if (!roomSelected(req.filter, roomId)) continue;
      const fresh = initial || req.fullState || changedRooms.has(roomId);
      const room = await this.joinedRoom(requester, roomId, fresh ? 0 : after, upTo, req.filter, fresh);
      if (room) response.rooms.join[roomId] = room;
    }

    for (const [roomId, m] of memberships) {
      if (!roomSelected(req.filter, roomId)) continue;
      const changedHere = changedRooms.has(roomId);
      if (m.membership === 'invite' && (initial || changedHere)) {
        response.rooms.invite[roomId] = { invite_state: { events: await this.inviteState(roomId, userId, m.position) } };
      } else if ((m.membership === 'leave' || m.membership === 'ban') && (changedHere || (initial && req.filter.room?.include_leave))) {
        const left = await this.leftRoom(requester, roomId, initial ? 0 : after, m.position, req.filter);
        if (left) response.rooms.leave[roomId] = left;
      }
    }
    return response;
  }

  /** The user's membership in each room as of `upTo` (current state may already be ahead). */
  private async membershipsAt(userId: string, upTo: number): Promise<Map<string, { membership: string; position: number }>> {
    const rows = await roomState.roomsOfUser(this.db, userId, ['join', 'invite', 'leave', 'ban', 'knock']);
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

  private async joinedRoom(requester: Requester, roomId: string, after: number, upTo: number, filter: Filter, fresh: boolean): Promise<JoinedRoomResult | undefined> {
    const { timeline, limited, visible } = await this.timeline(requester, roomId, after, upTo, filter);
    const timelineStart = timeline.length ? timeline[0].stream_ordering - 1 : upTo;
    // Fresh rooms get their whole state at the timeline's start; others what changed since.
    let stateRows = fresh || limited ? await events.stateEventsBetween(this.db, roomId, fresh ? 0 : after, timelineStart) : [];
    if (filter.room?.state?.lazy_load_members) {
      const senders = new Set([requester.userId, ...timeline.map((e) => e.sender)]);
      stateRows = stateRows.filter((e) => e.type !== 'm.room.member' || senders.has(e.state_key ?? ''));
    }
    stateRows = stateRows.filter((e) => eventSelected(filter.room?.state, e));
    if (!fresh && timeline.length === 0 && stateRows.length === 0) return undefined;
    const hasMemberChange = fresh || [...timeline, ...stateRows].some((e) => e.type === 'm.room.member');
    return {
      timeline: {
        events: await toClientEvents(this.db, timeline.filter((e) => visible(e.stream_ordering)), requester),
        limited,
        prev_batch: encodePaginationToken(timelineStart),
      },
      state: { events: await toClientEvents(this.db, stateRows, requester) },
      ephemeral: { events: [] },
      account_data: { events: [] },
      unread_notifications: { notification_count: 0, highlight_count: 0 },
      summary: hasMemberChange ? await this.summary(roomId, requester.userId) : {},
    };
  }

  private async leftRoom(requester: Requester, roomId: string, after: number, leftAt: number, filter: Filter) {
    const { timeline, limited, visible } = await this.timeline(requester, roomId, after, leftAt, filter);
    const timelineStart = timeline.length ? timeline[0].stream_ordering - 1 : leftAt;
    const stateRows = await events.stateEventsBetween(this.db, roomId, after, timelineStart);
    return {
      timeline: {
        events: await toClientEvents(this.db, timeline.filter((e) => visible(e.stream_ordering)), requester),
        limited,
        prev_batch: encodePaginationToken(timelineStart),
      },
      state: { events: await toClientEvents(this.db, stateRows, requester) },
    };
  }

  /** The newest `limit` events in (after, upTo], oldest first, and whether more were skipped. */
  private async timeline(requester: Requester, roomId: string, after: number, upTo: number, filter: Filter) {
    const limit = timelineLimit(filter);
    const f = filter.room?.timeline;
    const rows = await events.roomEvents(this.db, roomId, {
      after, upTo, dir: 'b', limit: limit + 1, types: f?.types, notTypes: f?.not_types, senders: f?.senders, notSenders: f?.not_senders,
    });
    const limited = rows.length > limit;
    const timeline = rows.slice(0, limit).reverse();
    const visibility = await VisibilityFilter.forUser(this.db, roomId, requester.userId);
    return { timeline, limited, visible: (position: number) => visibility.canSee(position) };
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

function isEmpty(r: SyncResponse): boolean {
  const rooms = r.rooms;
  return (
    Object.keys(rooms.join).length === 0 &&
    Object.keys(rooms.invite).length === 0 &&
    Object.keys(rooms.leave).length === 0 &&
    Object.keys(rooms.knock).length === 0 &&
    r.account_data.events.length === 0 &&
    r.to_device.events.length === 0
  );
}
