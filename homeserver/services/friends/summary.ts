/**
 * The `org.whisper.friends` global account data: a user's friends, requests both ways,
 * blocks, unread friend notifications and privacy settings, rewritten in the transaction of
 * every change so /sync (and matrix-js-sdk's ClientEvent.AccountData) carries it live.
 */
import type { Queryable } from '../../storage/database.ts';
import * as friends from '../../storage/friends.ts';
import type { AccountDataService } from '../streams/accountData.ts';

export const FRIENDS_ACCOUNT_DATA = 'org.whisper.friends';
/** Marks a DM invite (and its room's create event) as a friend request. */
export const FRIEND_REQUEST_KEY = 'org.whisper.friend_request';

export const DEFAULT_PRIVACY = { dm_from: 'friends', group_invites_from: 'everyone' } as const satisfies Omit<friends.PrivacyRow, 'user_id'>;

export async function privacyOf(q: Queryable, userId: string): Promise<Omit<friends.PrivacyRow, 'user_id'>> {
  const row = await friends.getPrivacy(q, userId);
  return row ? { dm_from: row.dm_from, group_invites_from: row.group_invites_from } : { ...DEFAULT_PRIVACY };
}

export class FriendSummary {
  private readonly accountData: AccountDataService;

  constructor(accountData: AccountDataService) {
    this.accountData = accountData;
  }

  /** Rewrites each user's summary inside `trx` (call after the change, in its transaction). */
  async publish(trx: Queryable, userIds: Iterable<string>): Promise<void> {
    for (const userId of new Set(userIds)) {
      // One after the other: a transaction is one connection.
      const mine = await friends.friendsOf(trx, userId);
      const incoming = await friends.incomingOf(trx, userId);
      const outgoing = await friends.outgoingOf(trx, userId);
      const blocks = await friends.blocksOf(trx, userId);
      const unread = await friends.unreadNotificationCount(trx, userId);
      const privacy = await privacyOf(trx, userId);
      await this.accountData.put(userId, '', FRIENDS_ACCOUNT_DATA, {
        friends: mine.map((f) => f.friend_id),
        incoming: incoming.map((r) => r.requester_id),
        outgoing: outgoing.map((r) => r.target_id),
        blocked: blocks.map((b) => b.blocked_id),
        unread_notifications: unread,
        privacy,
      }, trx);
    }
  }
}
