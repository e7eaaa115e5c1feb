/**
 * Rooms: creation (presets, initial state, invites), sending message and state events,
 * membership changes, redactions, and reading state and events with history visibility.
 * Every write goes through the EventPersister.
 */
import { errors, MatrixError } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import * as aliases from '../../storage/aliases.ts';
import * as events from '../../storage/events.ts';
import * as friends from '../../storage/friends.ts';
import * as roomState from '../../storage/roomState.ts';
import * as users from '../../storage/users.ts';
import type { Requester } from '../sessions.ts';
import type { UserIds } from '../userIds.ts';
import { powerLevelFor, toAuthState, userPowerLevel, type AuthEvent, type AuthState } from './authRules.ts';
import { toClientEvents, type ClientEvent } from './clientEvents.ts';
import { checkCanonicalValues } from './eventFormat.ts';
import { newRoomId, type EventDraft, type EventPersister } from './persister.ts';
import { VisibilityFilter } from './visibility.ts';
import { voicePowerLevelEvents } from '../voice/voiceRooms.ts';

export type Preset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

export interface CreateRoomInput {
  preset?: Preset;
  visibility?: 'public' | 'private';
  roomVersion?: '10' | '11';
  name?: string;
  topic?: string;
  invite?: string[];
  isDirect?: boolean;
  initialState?: Array<{ type: string; state_key?: string; content: Record<string, unknown> }>;
  powerLevelOverride?: Record<string, unknown>;
  creationContent?: Record<string, unknown>;
  roomAliasName?: string;
  /** Extra content of each invite's member event (e.g. Whisper's friend-request mark). */
  inviteContent?: Record<string, unknown>;
}

export const SUPPORTED_ROOM_VERSIONS = ['10', '11'] as const;
export const DEFAULT_ROOM_VERSION = '11';

const MAX_INITIAL_EVENTS = 200;

export class RoomService {
  private readonly db: Db;
  private readonly persister: EventPersister;
  private readonly userIds: UserIds;

  constructor(deps: { db: Db; persister: EventPersister; userIds: UserIds }) {
    this.db = deps.db;
    this.persister = deps.persister;
    this.userIds = deps.userIds;
  }

  async createRoom(requester: Requester, input: CreateRoomInput): Promise<string> {
    const version = input.roomVersion ?? DEFAULT_ROOM_VERSION;
    const preset = input.preset ?? (input.visibility === 'public' ? 'public_chat' : 'private_chat');
    const creator = requester.userId;
    const roomId = newRoomId(this.userIds.serverName);
    const invites = [...new Set(input.invite ?? [])].filter((u) => u !== creator);
    for (const userId of invites) await this.requireLocalUser(userId);
    if ((input.initialState?.length ?? 0) + invites.length > MAX_INITIAL_EVENTS) {
      throw errors.invalidParam(`A room may start with at most ${MAX_INITIAL_EVENTS} state events and invites.`);
    }
    checkCanonicalValues(input.initialState ?? []);
    checkCanonicalValues(input.creationContent ?? {});
    checkCanonicalValues(input.powerLevelOverride ?? {});

    const creationContent: Record<string, unknown> = { ...input.creationContent, room_version: version };
    if (version === '10') creationContent.creator = creator;
    else delete creationContent.creator;

    const users: Record<string, number> = { [creator]: 100 };
    if (preset === 'trusted_private_chat') for (const u of invites) users[u] = 100;
    const powerLevels: Record<string, unknown> = {
      users,
      users_default: 0,
      events: {
        'm.room.name': 50, 'm.room.power_levels': 100, 'm.room.history_visibility': 100, 'm.room.canonical_alias': 50,
        'm.room.avatar': 50, 'm.room.tombstone': 100, 'm.room.server_acl': 100, 'm.room.encryption': 100,
        ...voicePowerLevelEvents(input.creationContent),
      },
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: preset === 'public_chat' ? 50 : 0,
      notifications: { room: 50 },
      ...input.powerLevelOverride,
    };

    const draft = (type: string, content: Record<string, unknown>, stateKey = ''): EventDraft => ({ roomId, sender: creator, type, stateKey, content });
    const profile = await this.profileContent(creator);
    const drafts: EventDraft[] = [
      draft('m.room.create', creationContent),
      draft('m.room.member', { membership: 'join', ...profile }, creator),
      draft('m.room.power_levels', powerLevels),
      draft('m.room.join_rules', { join_rule: preset === 'public_chat' ? 'public' : 'invite' }),
      draft('m.room.history_visibility', { history_visibility: 'shared' }),
    ];
    if (preset !== 'public_chat') drafts.push(draft('m.room.guest_access', { guest_access: 'can_join' }));
    for (const s of input.initialState ?? []) drafts.push(draft(s.type, s.content, s.state_key ?? ''));
    if (input.name !== undefined) drafts.push(draft('m.room.name', { name: input.name }));
    if (input.topic !== undefined) drafts.push(draft('m.room.topic', { topic: input.topic }));
    for (const invitee of invites) {
      const content: Record<string, unknown> = { ...input.inviteContent, membership: 'invite', ...(await this.profileContent(invitee)) };
      if (input.isDirect) content.is_direct = true;
      drafts.push(draft('m.room.member', content, invitee));
    }
    await this.persister.persist(drafts, { room_id: roomId, room_version: version, creator, created_ts: Date.now(), published: input.visibility === 'public' });
    return roomId;
  }

  /** A message event (idempotent per device and transaction id). */
  async send(requester: Requester, roomId: string, type: string, content: Record<string, unknown>, txnId: string): Promise<string> {
    checkCanonicalValues(content);
    // An unknown room is refused by the persister (404), which reads the room's version anyway.
    const [result] = await this.persister.persist([
      { roomId, sender: requester.userId, type, content, txn: { deviceId: requester.deviceId, txnId } },
    ]);
    return result.eventId;
  }

  async setState(requester: Requester, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    checkCanonicalValues(content);
    await this.requireRoom(roomId);
    if (type === 'm.room.member') {
      // Membership goes through the membership endpoints' rules (profile, invites of users that exist).
      if (content.membership === 'invite') await this.requireLocalUser(stateKey);
    }
    // Setting the same content again is a no-op, as clients retry PUTs.
    const currentId = await roomState.currentStateEventId(this.db, roomId, type, stateKey);
    if (currentId) {
      const current = await events.getEvent(this.db, currentId);
      if (current && current.sender === requester.userId && JSON.stringify(current.json.content) === JSON.stringify(content)) return currentId;
    }
    const [result] = await this.persister.persist([{ roomId, sender: requester.userId, type, stateKey, content }]);
    return result.eventId;
  }

  async redact(requester: Requester, roomId: string, eventId: string, txnId: string, reason?: string): Promise<string> {
    await this.requireRoom(roomId);
    const target = await events.getEvent(this.db, eventId);
    if (!target || target.room_id !== roomId) throw errors.notFound('Event not found.');
    if (target.sender !== requester.userId) {
      const state = await this.authState(roomId, ['m.room.power_levels', 'm.room.create']);
      if (userPowerLevel(state, requester.userId) < powerLevelFor(state, 'redact')) {
        throw errors.forbidden("You don't have permission to remove other people's messages.");
      }
    }
    const content: Record<string, unknown> = reason !== undefined ? { reason } : {};
    const [result] = await this.persister.persist([
      { roomId, sender: requester.userId, type: 'm.room.redaction', content, redacts: eventId, txn: { deviceId: requester.deviceId, txnId } },
    ]);
    return result.eventId;
  }

  // --- membership -------------------------------------------------------------------------

  async join(requester: Requester, roomId: string, reason?: string): Promise<string> {
    await this.requireRoom(roomId);
    const current = await roomState.membershipOf(this.db, roomId, requester.userId);
    if (current === 'join') return roomId;
    await aliases.setForgotten(this.db, requester.userId, roomId, false);
    const content: Record<string, unknown> = { membership: 'join', ...(await this.profileContent(requester.userId)) };
    if (reason) content.reason = reason;
    await this.persister.persist([{ roomId, sender: requester.userId, type: 'm.room.member', stateKey: requester.userId, content }]);
    return roomId;
  }

  /** Asks to join a room whose join rule is knock (the room's moderators see it and may invite). */
  async knock(requester: Requester, roomId: string, reason?: string): Promise<string> {
    await this.requireRoom(roomId);
    const current = await roomState.membershipOf(this.db, roomId, requester.userId);
    if (current === 'join') throw errors.forbidden('You are already in this room.');
    if (current === 'knock') return roomId;
    const content: Record<string, unknown> = { membership: 'knock', ...(await this.profileContent(requester.userId)) };
    if (reason) content.reason = reason;
    await this.persister.persist([{ roomId, sender: requester.userId, type: 'm.room.member', stateKey: requester.userId, content }]);
    return roomId;
  }

  async invite(requester: Requester, roomId: string, target: string, reason?: string, isDirect = false): Promise<void> {
    await this.requireRoom(roomId);
    await this.requireLocalUser(target);
    const current = await roomState.membershipOf(this.db, roomId, target);
    if (current === 'join') throw errors.forbidden(`${target} is already in the room.`);
    if (current === 'ban') throw errors.forbidden(`${target} is banned from the room.`);
    const content: Record<string, unknown> = { membership: 'invite', ...(await this.profileContent(target)) };
    if (reason) content.reason = reason;
    if (isDirect) content.is_direct = true;
    await this.persister.persist([{ roomId, sender: requester.userId, type: 'm.room.member', stateKey: target, content }]);
  }

  async leave(requester: Requester, roomId: string, reason?: string): Promise<void> {
    await this.requireRoom(roomId);
    const current = await roomState.membershipOf(this.db, roomId, requester.userId);
    if (!current || current === 'leave') return;
    if (current === 'ban') throw errors.forbidden('You are banned from this room.');
    await this.changeMembership(requester.userId, roomId, requester.userId, 'leave', reason);
  }

  async kick(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    await this.requireRoom(roomId);
    const current = await roomState.membershipOf(this.db, roomId, target);
    if (!current || !['join', 'invite', 'knock'].includes(current)) throw errors.forbidden(`${target} is not in the room.`);
    await this.changeMembership(requester.userId, roomId, target, 'leave', reason);
  }

  async ban(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    await this.requireRoom(roomId);
    await this.changeMembership(requester.userId, roomId, target, 'ban', reason);
  }

  async unban(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    await this.requireRoom(roomId);
    const current = await roomState.membershipOf(this.db, roomId, target);
    if (current !== 'ban') throw errors.forbidden(`${target} is not banned.`);
    await this.changeMembership(requester.userId, roomId, target, 'leave', reason);
  }

  private async changeMembership(sender: string, roomId: string, target: string, membership: string, reason?: string): Promise<void> {
    const content: Record<string, unknown> = { membership };
    if (reason) content.reason = reason;
    await this.persister.persist([{ roomId, sender, type: 'm.room.member', stateKey: target, content }]);
  }

  /**
   * After a profile change: a new join event in every room the user is in, carrying the new
   * name and avatar (as Synapse does), so members and clients that read member events see it.
   * A room that refuses it (none should: rejoining while joined is always allowed) is skipped.
   */
  async refreshProfile(userId: string): Promise<void> {
    const profile = await this.profileContent(userId);
    for (const roomId of await this.joinedRooms(userId)) {
      const eventId = await roomState.currentStateEventId(this.db, roomId, 'm.room.member', userId);
      const current = eventId ? (await events.getEvent(this.db, eventId))?.json.content ?? {} : {};
      const { displayname: _name, avatar_url: _avatar, reason: _reason, ...kept } = current as Record<string, unknown>;
      if (current.displayname === profile.displayname && current.avatar_url === profile.avatar_url) continue;
      try {
        await this.persister.persist([{ roomId, sender: userId, type: 'm.room.member', stateKey: userId, content: { ...kept, membership: 'join', ...profile } }]);
      } catch (err) {
        if (!(err instanceof MatrixError)) throw err;
      }
    }
  }

  /** Forgets a room the user has left: it leaves their sync and its history closes to them. */
  async forget(requester: Requester, roomId: string): Promise<void> {
    await this.requireRoom(roomId);
    const current = await roomState.membershipOf(this.db, roomId, requester.userId);
    if (current === 'join' || current === 'invite' || current === 'knock') throw new MatrixError(400, 'M_UNKNOWN', 'Leave the room before forgetting it.');
    await aliases.setForgotten(this.db, requester.userId, roomId, true);
  }

  // --- reading ----------------------------------------------------------------------------

  async joinedRooms(userId: string): Promise<string[]> {
    return (await roomState.roomsOfUser(this.db, userId, ['join'])).map((r) => r.room_id);
  }

  /** The room's state as the user may see it: current if joined, at their leave otherwise. */
  async state(requester: Requester, roomId: string): Promise<ClientEvent[]> {
    const upTo = await this.readableUpTo(requester.userId, roomId);
    const rows = await events.stateEventsBetween(this.db, roomId, 0, upTo);
    return toClientEvents(this.db, rows, requester);
  }

  async stateEvent(requester: Requester, roomId: string, type: string, stateKey: string): Promise<Record<string, unknown>> {
    const state = await this.state(requester, roomId);
    const found = state.find((e) => e.type === type && e.state_key === stateKey);
    if (!found) throw errors.notFound('Event not found.');
    return found.content;
  }

  async event(requester: Requester, roomId: string, eventId: string): Promise<ClientEvent> {
    const row = await events.getEvent(this.db, eventId);
    if (!row || row.room_id !== roomId) throw errors.notFound('Event not found.');
    const filter = await VisibilityFilter.forUser(this.db, roomId, requester.userId);
    if (!filter.canSee(row.stream_ordering)) throw errors.notFound('Event not found.');
    // A blocked sender's message is not found, as Synapse answers for ignored users (so
    // /context and /relations of it are refused too); their state events stay readable.
    if (row.state_key === null && (await friends.isBlocked(this.db, requester.userId, row.sender))) throw errors.notFound('Event not found.');
    return (await toClientEvents(this.db, [row], requester))[0];
  }

  /** Members of the room (current, or at a position for `at`), optionally by membership. */
  async members(requester: Requester, roomId: string, opts: { atPosition?: number; membership?: string; notMembership?: string }): Promise<ClientEvent[]> {
    const upTo = Math.min(await this.readableUpTo(requester.userId, roomId), opts.atPosition ?? Number.MAX_SAFE_INTEGER);
    const rows = (await events.stateEventsBetween(this.db, roomId, 0, upTo)).filter(
      (e) => e.type === 'm.room.member' && (!opts.membership || e.membership === opts.membership) && (!opts.notMembership || e.membership !== opts.notMembership),
    );
    return toClientEvents(this.db, rows, requester);
  }

  /**
   * How far the user may read a room: everything while joined; up to their leave, kick or
   * ban otherwise; never for rooms they were not in (unless world readable).
   */
  async readableUpTo(userId: string, roomId: string): Promise<number> {
    await this.requireRoom(roomId);
    const filter = await VisibilityFilter.forUser(this.db, roomId, userId);
    const upTo = filter.readableUpTo();
    if (upTo === 0) throw errors.forbidden('You are not in this room.');
    if (!filter.isMember && (await aliases.forgottenRooms(this.db, userId)).has(roomId)) throw errors.forbidden('You have forgotten this room.');
    return upTo;
  }

  async authState(roomId: string, types: string[]): Promise<AuthState> {
    return toAuthState((await roomState.currentStateEvents(this.db, roomId, types.map((t) => [t, '']))) as AuthEvent[]);
  }

  async requireRoom(roomId: string): Promise<roomState.RoomRow> {
    const room = await roomState.getRoom(this.db, roomId);
    if (!room) throw errors.notFound('Unknown room.');
    return room;
  }

  private async requireLocalUser(userId: string): Promise<void> {
    if (!this.userIds.isLocal(userId)) throw new MatrixError(403, 'M_FORBIDDEN', 'This server does not federate; only its own users can be invited.');
    const user = await users.getUser(this.db, userId);
    if (!user || user.deactivated) throw errors.notFound(`Unknown user ${userId}.`);
  }

  private async profileContent(userId: string): Promise<Record<string, unknown>> {
    const user = await users.getUser(this.db, userId);
    const content: Record<string, unknown> = {};
    if (user?.displayname) content.displayname = user.displayname;
    if (user?.avatar_url) content.avatar_url = user.avatar_url;
    return content;
  }
}
