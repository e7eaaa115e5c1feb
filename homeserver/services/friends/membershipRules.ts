/**
 * Where friendship meets room membership, called by the EventPersister for every membership
 * event, in that event's transaction:
 * - `check` (before storing): a blocked user cannot invite the one who blocked them, and a
 *   non-friend's invite must pass the target's privacy settings (friend requests excepted).
 * - `onStored`: a friend-request invite records the request; the invitee joining accepts it,
 *   rejecting the invite declines it, the inviter rescinding it (kick/ban) cancels it — from
 *   Whisper's API or any Matrix client alike.
 */
import { errors } from '../../errors.ts';
import type { Queryable } from '../../storage/database.ts';
import type { Pdu } from '../../storage/events.ts';
import * as friends from '../../storage/friends.ts';
import type { EventDraft } from '../rooms/persister.ts';
import { FRIEND_REQUEST_KEY, privacyOf, type FriendSummary } from './summary.ts';
import type { AuditService } from '../audit.ts';

type Writes = (trx: Queryable, position: number) => Promise<void>;

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
    // Generic on purpose: the inviter must not learn that they are blocked.
    if (await friends.isBlocked(trx, target, sender)) throw errors.forbidden('You cannot invite this user.');
    if (draft.content[FRIEND_REQUEST_KEY] === true) return;
    if (await friends.areFriends(trx, sender, target)) return;
    const privacy = await privacyOf(trx, target);
    if (draft.content.is_direct === true) {
      if (privacy.dm_from === 'friends') throw errors.forbidden(`${target} only accepts direct messages from friends.`);
    } else if (privacy.group_invites_from === 'friends') {
      throw errors.forbidden(`${target} only accepts group invites from friends.`);
    }
  }

  async onStored(trx: Queryable, pdu: Pdu): Promise<Writes | undefined> {
    if (pdu.type !== 'm.room.member' || typeof pdu.state_key !== 'string') return undefined;
    const membership = pdu.content.membership;
    const subject = pdu.state_key;
    const touched: string[] = [];
    if (membership === 'invite') {
      if (pdu.content[FRIEND_REQUEST_KEY] !== true || pdu.sender === subject) return undefined;
      if (await friends.areFriends(trx, pdu.sender, subject)) return undefined;
      const fresh = await friends.insertRequest(trx, {
        requester_id: pdu.sender, target_id: subject, room_id: pdu.room_id, sent_ts: pdu.origin_server_ts, hidden: false,
      });
      if (!fresh) return undefined;
      await friends.insertNotification(trx, { user_id: subject, kind: 'friend_request', other_user_id: pdu.sender, room_id: pdu.room_id, ts: pdu.origin_server_ts });
      await this.audit.record(trx, pdu.sender, 'friend.request', {}, { user: subject, room_id: pdu.room_id });
      touched.push(pdu.sender, subject);
    } else if (membership === 'join' || membership === 'leave' || membership === 'ban') {
      const pending = (await friends.requestsInRoom(trx, pdu.room_id)).filter((r) => r.target_id === subject && !r.hidden);
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
        touched.push(request.requester_id, subject);
      }
    }
    if (touched.length === 0) return undefined;
    // After the event's position is taken: the account-data stream is locked after the events stream.
    return (t) => this.summary.publish(t, touched);
  }
}
