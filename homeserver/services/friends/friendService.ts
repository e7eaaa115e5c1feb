/**
 * Friends: requests (sent, cancelled, accepted, declined), the friend list with profiles and
 * presence, removal, and the friend notifications feed. A request is a DM invite marked
 * `org.whisper.friend_request`; accepting, declining and cancelling act on that invite
 * (join, reject, rescind), and FriendMembershipRules turns the membership change into the
 * friendship change in the same transaction, whichever client acted.
 */
import { errors } from '../../errors.ts';
import * as accountDataStore from '../../storage/accountData.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as friends from '../../storage/friends.ts';
import * as users from '../../storage/users.ts';
import type { PresenceService, PresenceState } from '../presence.ts';
import type { RoomService } from '../rooms/roomService.ts';
import type { Requester } from '../sessions.ts';
import type { AccountDataService } from '../streams/accountData.ts';
import type { UserIds } from '../userIds.ts';
import { settleInRoom } from './roomActs.ts';
import { FRIEND_REQUEST_KEY, type FriendSummary } from './summary.ts';
import type { AuditService } from '../audit.ts';

export interface Profile {
  user_id: string;
  displayname: string | null;
  avatar_url: string | null;
}

export interface FriendList {
  friends: Array<Profile & { presence: PresenceState; room_id: string | null; since: number }>;
  incoming: Array<Profile & { room_id: string; sent_at: number }>;
  outgoing: Array<Profile & { room_id: string; sent_at: number }>;
}

export interface RequestResult {
  user_id: string;
  room_id: string;
  state: 'pending' | 'accepted';
}

const MAX_NOTIFICATIONS_PAGE = 100;

/** Loads profiles for display (a user deleted meanwhile shows without a name). */
export async function profilesOf(q: Queryable, userIds: string[]): Promise<Map<string, Profile>> {
  const out = new Map<string, Profile>();
  for (const userId of new Set(userIds)) {
    const user = await users.getUser(q, userId);
    out.set(userId, { user_id: userId, displayname: user?.displayname ?? null, avatar_url: user?.avatar_url ?? null });
  }
  return out;
}

export class FriendService {
  private readonly db: Db;
  private readonly audit: AuditService;
  private readonly rooms: RoomService;
  private readonly presence: PresenceService;
  private readonly accountData: AccountDataService;
  private readonly summary: FriendSummary;
  private readonly userIds: UserIds;

  constructor(deps: { db: Db; rooms: RoomService; presence: PresenceService; accountData: AccountDataService; summary: FriendSummary; userIds: UserIds; audit: AuditService }) {
    this.audit = deps.audit;
    this.db = deps.db;
    this.rooms = deps.rooms;
    this.presence = deps.presence;
    this.accountData = deps.accountData;
    this.summary = deps.summary;
    this.userIds = deps.userIds;
  }

  async list(userId: string): Promise<FriendList> {
    const [mine, incoming, outgoing] = [await friends.friendsOf(this.db, userId), await friends.incomingOf(this.db, userId), await friends.outgoingOf(this.db, userId)];
    const profiles = await profilesOf(this.db, [...mine.map((f) => f.friend_id), ...incoming.map((r) => r.requester_id), ...outgoing.map((r) => r.target_id)]);
    const presence = await this.presence.statesOf(mine.map((f) => f.friend_id));
    return {
      friends: mine.map((f) => ({ ...profiles.get(f.friend_id)!, presence: presence.get(f.friend_id) ?? 'offline', room_id: f.room_id, since: f.since_ts })),
      incoming: incoming.map((r) => ({ ...profiles.get(r.requester_id)!, room_id: r.room_id, sent_at: r.sent_ts })),
      outgoing: outgoing.map((r) => ({ ...profiles.get(r.target_id)!, room_id: r.room_id, sent_at: r.sent_ts })),
    };
  }

  /** A user named by full id or bare localpart, who must exist here. */
  async resolveUser(input: string): Promise<string> {
    const userId = this.userIds.resolve(input);
    // eslint-disable-next-line no-control-regex
    if (!userId || userId.length > 255 || /[\u0000-\u001f]/.test(userId)) throw errors.notFound('Unknown user.');
    const user = await users.getUser(this.db, userId);
    if (!user || user.deactivated) throw errors.notFound('Unknown user.');
    return userId;
  }

  /**
   * Sends a friend request, or accepts theirs when they already asked. To someone who blocked
   * the requester everything goes as usual on the requester's side (the DM room, the invite in
   * it, the request pending), so the block does not show; but FriendMembershipRules hides the
   * invite and the request from the target, for good: an unblock does not deliver it late. The
   * requester sending again after the unblock replaces it with one that arrives.
   */
  async request(requester: Requester, target: string): Promise<RequestResult> {
    const me = requester.userId;
    if (target === me) throw errors.invalidParam('You cannot send yourself a friend request.');
    if (await friends.isBlocked(this.db, me, target)) throw errors.invalidParam(`You have blocked ${target}; unblock them first.`);
    if (await friends.areFriends(this.db, me, target)) throw errors.invalidParam(`You are already friends with ${target}.`);
    const mine = await friends.getRequest(this.db, me, target);
    // One hidden by a block since lifted is sent again (rescinded, then a new one that arrives);
    // any other is a duplicate, as is a hidden one while the block lasts.
    const resend = mine?.hidden === true && !(await friends.isBlocked(this.db, target, me));
    if (mine && !resend) throw errors.invalidParam(`You already sent ${target} a friend request.`);
    if (resend) await this.cancel(requester, target);
    const theirs = await friends.getRequest(this.db, target, me);
    if (theirs && !theirs.hidden) {
      const roomId = await this.accept(requester, target);
      return { user_id: target, room_id: roomId, state: 'accepted' };
    }
    const roomId = await this.rooms.createRoom(requester, {
      preset: 'trusted_private_chat',
      isDirect: true,
      invite: [target],
      inviteContent: { [FRIEND_REQUEST_KEY]: true },
      creationContent: { [FRIEND_REQUEST_KEY]: true },
      // Below the requester, so the requester can rescind the invite (a kick needs a higher level).
      powerLevelOverride: { users: { [me]: 100, [target]: 50 } },
    });
    await this.markDirect(me, target, roomId);
    return { user_id: target, room_id: roomId, state: 'pending' };
  }

  /** Accepts `from`'s request by joining its room; returns the room. */
  async accept(requester: Requester, from: string): Promise<string> {
    const me = requester.userId;
    const request = await friends.getRequest(this.db, from, me);
    if (!request || request.hidden) throw errors.notFound(`No friend request from ${from}.`);
    await settleInRoom(() => this.rooms.join(requester, request.room_id));
    // The join converted it, unless the room no longer offered an invite to act on.
    if (await friends.getRequest(this.db, from, me)) {
      await this.db.transaction(async (trx) => {
        await friends.deleteRequestsBetween(trx, from, me);
        await friends.insertFriendship(trx, from, me, request.room_id, Date.now());
        await friends.insertNotification(trx, { user_id: from, kind: 'friend_accepted', other_user_id: me, room_id: request.room_id, ts: Date.now() });
        await this.audit.record(trx, me, 'friend.accept', {}, { user: from, room_id: request.room_id });
        await this.summary.publish(trx, [from, me]);
      });
    }
    await this.markDirect(me, from, request.room_id);
    return request.room_id;
  }

  /** Declines `from`'s request by rejecting its invite. */
  async decline(requester: Requester, from: string): Promise<void> {
    const me = requester.userId;
    const request = await friends.getRequest(this.db, from, me);
    if (!request || request.hidden) throw errors.notFound(`No friend request from ${from}.`);
    await settleInRoom(() => this.rooms.leave(requester, request.room_id));
    await this.dropRequest(from, me);
  }

  /** Cancels the requester's own request by rescinding the invite (and leaving the room). */
  async cancel(requester: Requester, to: string): Promise<void> {
    const me = requester.userId;
    const request = await friends.getRequest(this.db, me, to);
    if (!request) throw errors.notFound(`No friend request to ${to}.`);
    await settleInRoom(() => this.rooms.kick(requester, request.room_id, to));
    await this.dropRequest(me, to);
    await settleInRoom(() => this.rooms.leave(requester, request.room_id));
  }

  /** Ends a friendship; the DM room stays, and each side may leave it. */
  async remove(requester: Requester, friendId: string): Promise<void> {
    const me = requester.userId;
    await this.db.transaction(async (trx) => {
      if (!(await friends.deleteFriendship(trx, me, friendId))) throw errors.notFound(`${friendId} is not your friend.`);
      await this.audit.record(trx, me, 'friend.remove', {}, { user: friendId });
      await this.summary.publish(trx, [me, friendId]);
    });
  }

  async notifications(userId: string, opts: { from?: number; limit?: number }) {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), MAX_NOTIFICATIONS_PAGE);
    const rows = await friends.notificationsOf(this.db, userId, opts.from ?? Number.MAX_SAFE_INTEGER, limit);
    return {
      notifications: rows.map((r) => ({ id: String(r.id), kind: r.kind, user_id: r.other_user_id, room_id: r.room_id, ts: r.ts, read: r.read })),
      unread_count: await friends.unreadNotificationCount(this.db, userId),
      ...(rows.length === limit ? { next_batch: String(rows.at(-1)!.id) } : {}),
    };
  }

  /** Marks notifications read up to `upTo` (an id from the feed), or all of them. */
  async markRead(userId: string, upTo: number | 'all'): Promise<void> {
    await this.db.transaction(async (trx) => {
      const changed = await friends.markNotificationsRead(trx, userId, upTo === 'all' ? undefined : upTo);
      if (changed > 0) await this.summary.publish(trx, [userId]);
    });
  }

  /** Deletes a request the room change did not settle (a room already left). */
  private async dropRequest(requesterId: string, targetId: string): Promise<void> {
    if (!(await friends.getRequest(this.db, requesterId, targetId))) return;
    await this.db.transaction(async (trx) => {
      if (await friends.deleteRequest(trx, requesterId, targetId)) await this.summary.publish(trx, [requesterId, targetId]);
    });
  }

  /** Records the DM in the user's m.direct, as Matrix clients do for rooms they start. */
  private async markDirect(userId: string, otherId: string, roomId: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      await accountDataStore.lockAccountData(trx, userId, '', 'm.direct');
      const current = (await accountDataStore.getAccountData(trx, userId, '', 'm.direct'))?.content ?? {};
      const rooms = Array.isArray(current[otherId]) ? (current[otherId] as unknown[]).filter((r): r is string => typeof r === 'string') : [];
      if (rooms.includes(roomId)) return;
      await this.accountData.put(userId, '', 'm.direct', { ...current, [otherId]: [...rooms, roomId] }, trx);
    });
  }
}
