/**
 * Where friendship meets room membership, called by the EventPersister for every membership
 * event, in that event's transaction:
 * - `check` (before storing): a non-friend's invite must pass the target's privacy settings
 *   (friend requests excepted).
 * - `onStored`: a friend-request invite records the request; the invitee joining accepts it,
 *   rejecting the invite declines it, the inviter rescinding it (kick/ban) cancels it — from
 *   Whisper's API or any Matrix client alike.
 *
 * Invites from a blocked user, friend requests included, never reach the one who blocked them,
 * and the sender cannot tell (spec, "Ignoring users": room invites from ignored users are not
 * sent to the client). So they meet the same privacy rules, with the same answers, as a
 * stranger's; one those rules let through is stored like any invite (the inviter sees the
 * invitee "invited", a friend request pending) but recorded as hidden: the invitee's sync,
 * notifications and friend lists never show it, nor the room's leave if it is rescinded. It
 * stays hidden after an unblock (events missed while blocked are not delivered late); a new
 * request or invite sent after the unblock arrives as usual.
 */
import { errors } from '../../errors.ts';
import type { Queryable } from '../../storage/database.ts';
import type { Pdu } from '../../storage/events.ts';
import * as friends from '../../storage/friends.ts';
import type { EventDraft, StoredEventWrites } from '../rooms/persister.ts';
import { FRIEND_REQUEST_KEY, privacyOf, type FriendSummary } from './summary.ts';
import type { AuditService } from '../audit.ts';

export class FriendMembershipRules {
  private readonly summary: FriendSummary;
  private readonly audit: AuditService;

  constructor(summary: FriendSummary, audit: AuditService) {
    this.summary = summary;
    this.audit = audit;
  }

  async check(trx: Queryable, draft: EventDraft): Promise<void> {
    if (draft.type !== 'm.room.member' || draft.content.membership !== 'invite') return;
    const target = draft.stateKey;
    const sender = draft.sender;
    if (!target || target === sender) return;
    // A block changes nothing here, so the answer does not reveal it (onStored hides the invite).
    if (draft.content[FRIEND_REQUEST_KEY] === true) return;
    if (await friends.areFriends(trx, sender, target)) return;
    const privacy = await privacyOf(trx, target);
    if (draft.content.is_direct === true) {
      if (privacy.dm_from === 'friends') throw errors.forbidden(`${target} only accepts direct messages from friends.`);
    } else if (privacy.group_invites_from === 'friends') {
      throw errors.forbidden(`${target} only accepts group invites from friends.`);
    }
  }

  async onStored(trx: Queryable, pdu: Pdu): Promise<StoredEventWrites | undefined> {
    if (pdu.type !== 'm.room.member' || typeof pdu.state_key !== 'string') return undefined;
    const membership = pdu.content.membership;
    const subject = pdu.state_key;
    const touched: string[] = [];
    if (membership === 'invite') {
      if (pdu.sender === subject) return undefined;
      const hidden = await friends.isBlocked(trx, subject, pdu.sender);
      if (hidden) await friends.hideInvite(trx, { user_id: subject, room_id: pdu.room_id, inviter_id: pdu.sender });
      else await friends.unhideInvite(trx, subject, pdu.room_id);
      if (pdu.content[FRIEND_REQUEST_KEY] !== true) return undefined;
      if (await friends.areFriends(trx, pdu.sender, subject)) return undefined;
      const fresh = await friends.insertRequest(trx, {
        requester_id: pdu.sender, target_id: subject, room_id: pdu.room_id, sent_ts: pdu.origin_server_ts, hidden,
      });
      if (!fresh) return undefined;
      if (!hidden) {
        await friends.insertNotification(trx, { user_id: subject, kind: 'friend_request', other_user_id: pdu.sender, room_id: pdu.room_id, ts: pdu.origin_server_ts });
      }
      await this.audit.record(trx, pdu.sender, 'friend.request', {}, { user: subject, room_id: pdu.room_id });
      // The target hears nothing of a hidden one, not even a changed summary.
      touched.push(...(hidden ? [pdu.sender] : [pdu.sender, subject]));
    } else if (membership === 'join' || membership === 'leave' || membership === 'ban') {
      if (membership === 'join') await friends.unhideInvite(trx, subject, pdu.room_id);
      // A hidden request is never accepted (its target never saw it), but it can be rescinded.
      const pending = (await friends.requestsInRoom(trx, pdu.room_id)).filter((r) => r.target_id === subject && !(r.hidden && membership === 'join'));
      for (const request of pending) {
        if (membership === 'join') {
          await friends.deleteRequestsBetween(trx, request.requester_id, subject);
          await friends.insertFriendship(trx, request.requester_id, subject, pdu.room_id, pdu.origin_server_ts);
          await friends.insertNotification(trx, {
            user_id: request.requester_id, kind: 'friend_accepted', other_user_id: subject, room_id: pdu.room_id, ts: pdu.origin_server_ts,
          });
          await this.audit.record(trx, subject, 'friend.accept', {}, { user: request.requester_id, room_id: pdu.room_id });
        } else {
          await friends.deleteRequest(trx, request.requester_id, subject);
          if (pdu.sender === subject) await this.audit.record(trx, subject, 'friend.decline', {}, { user: request.requester_id });
          else await this.audit.record(trx, request.requester_id, 'friend.cancel', {}, { user: subject });
        }
        touched.push(...(request.hidden ? [request.requester_id] : [request.requester_id, subject]));
      }
    }
    if (touched.length === 0) return undefined;
    // After the event's position is taken: the account-data stream is locked after the events stream.
    return { atPosition: (t) => this.summary.publish(t, touched) };
  }
}
