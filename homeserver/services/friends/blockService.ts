/**
 * Blocking and privacy settings. A block is also Matrix's ignore list (`m.ignored_user_list`),
 * kept in step both ways: blocking here rewrites it, and a client that edits it (Element's
 * "Ignore") blocks and unblocks here. Blocking ends the friendship and the pending requests
 * both ways (their invites are rejected or rescinded). What a block then forbids is enforced
 * where it happens: invites (FriendMembershipRules), presence, push; what the blocked user
 * sent is left out where the blocker reads it (timelines, /messages, /context, /relations,
 * /search, /notifications and unread counts), so an unblock shows it again.
 */
import { errors } from '../../errors.ts';
import * as accountDataStore from '../../storage/accountData.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as friends from '../../storage/friends.ts';
import * as users from '../../storage/users.ts';
import type { RoomService } from '../rooms/roomService.ts';
import type { Requester } from '../sessions.ts';
import type { AccountDataService } from '../streams/accountData.ts';
import type { UserIds } from '../userIds.ts';
import { profilesOf, type Profile } from './friendService.ts';
import { settleInRoom } from './roomActs.ts';
import { privacyOf, type FriendSummary } from './summary.ts';
import type { AuditService } from '../audit.ts';
import type { BlockLists } from './blockLists.ts';

export const IGNORED_USERS = 'm.ignored_user_list';

export type Privacy = Omit<friends.PrivacyRow, 'user_id'>;

/** Acting for a user whose change came without a request of its own (an account-data PUT). */
const asUser = (userId: string): Requester => ({ userId, deviceId: '', isAdmin: false, accessTokenHash: '' });

export class BlockService {
  private readonly db: Db;
  private readonly audit: AuditService;
  private readonly rooms: RoomService;
  private readonly accountData: AccountDataService;
  private readonly summary: FriendSummary;
  private readonly userIds: UserIds;
  private readonly lists: BlockLists;

  constructor(deps: { db: Db; rooms: RoomService; accountData: AccountDataService; summary: FriendSummary; userIds: UserIds; audit: AuditService; lists: BlockLists }) {
    this.audit = deps.audit;
    this.lists = deps.lists;
    this.db = deps.db;
    this.rooms = deps.rooms;
    this.accountData = deps.accountData;
    this.summary = deps.summary;
    this.userIds = deps.userIds;
  }

  async list(userId: string): Promise<{ blocked: Array<Profile & { since: number }> }> {
    const rows = await friends.blocksOf(this.db, userId);
    const profiles = await profilesOf(this.db, rows.map((r) => r.blocked_id));
    return { blocked: rows.map((r) => ({ ...profiles.get(r.blocked_id)!, since: r.since_ts })) };
  }

  async block(requester: Requester, target: string): Promise<void> {
    if (target === requester.userId) throw errors.invalidParam('You cannot block yourself.');
    await this.apply(requester, [target], [], true);
  }

  async unblock(requester: Requester, target: string): Promise<void> {
    if (!(await friends.isBlocked(this.db, requester.userId, target))) throw errors.notFound(`${target} is not blocked.`);
    await this.apply(requester, [], [target], true);
  }

  /** A client changed m.ignored_user_list itself: block whom it added, unblock whom it removed. */
  async ignoreListChanged(userId: string, content: Record<string, unknown>): Promise<void> {
    const listed = content.ignored_users && typeof content.ignored_users === 'object' ? Object.keys(content.ignored_users) : [];
    const wanted = new Set<string>();
    for (const u of listed) {
      if (u === userId || !this.userIds.isLocal(u) || u.length > 255) continue;
      // Ignoring someone unknown (or on another server) stays in the list but blocks no one.
      if (await users.getUser(this.db, u)) wanted.add(u);
    }
    const current = await friends.blockedBy(this.db, userId);
    const add = [...wanted].filter((u) => !current.has(u));
    const remove = [...current].filter((u) => !wanted.has(u));
    if (add.length || remove.length) await this.apply(asUser(userId), add, remove, false);
  }

  async privacy(userId: string): Promise<Privacy> {
    return privacyOf(this.db, userId);
  }

  async setPrivacy(userId: string, change: Partial<Privacy>): Promise<Privacy> {
    return this.db.transaction(async (trx) => {
      const next = { ...(await privacyOf(trx, userId)), ...change };
      await friends.putPrivacy(trx, { user_id: userId, ...next });
      await this.summary.publish(trx, [userId]);
      return next;
    });
  }

  /**
   * Blocks and unblocks. Invites between the two are settled first through their rooms (each
   * in its own transaction, as the persister runs them); then the block, the end of the
   * friendship and the requests, the ignore list (unless the client wrote it) and both
   * summaries, in one transaction.
   */
  private async apply(requester: Requester, add: string[], remove: string[], writeIgnoreList: boolean): Promise<void> {
    const me = requester.userId;
    for (const other of add) {
      const mine = await friends.getRequest(this.db, me, other);
      const theirs = await friends.getRequest(this.db, other, me);
      // Theirs is declined (a hidden one, from an earlier block, they still see pending: it stays).
      if (theirs && !theirs.hidden) await settleInRoom(() => this.rooms.leave(requester, theirs.room_id));
      if (mine) await settleInRoom(() => this.rooms.kick(requester, mine.room_id, other));
    }
    await this.db.transaction(async (trx) => {
      const touched = new Set<string>([me]);
      for (const other of add) {
        await friends.insertBlock(trx, { user_id: me, blocked_id: other, since_ts: Date.now() });
        await this.lists.changed(trx, me, other);
        const wereFriends = await friends.deleteFriendship(trx, me, other);
        const mineDropped = await friends.deleteRequest(trx, me, other);
        // Theirs too, unless hidden (sent during an earlier block): they still see that one pending.
        const theirs = await friends.getRequest(trx, other, me);
        const theirsDropped = theirs && !theirs.hidden ? await friends.deleteRequest(trx, other, me) : false;
        await this.audit.record(trx, me, 'block.add', {}, { user: other });
        // The other side hears only of what they lose (a friend, a request), not of the block.
        if (wereFriends || mineDropped || theirsDropped) touched.add(other);
      }
      for (const other of remove) {
        await friends.deleteBlock(trx, me, other);
        await this.lists.changed(trx, me, other);
        // A request sent while blocked is not delivered late, nor ended (which would show the
        // sender when the unblock happened): it stays pending on their side only.
        await this.audit.record(trx, me, 'block.remove', {}, { user: other });
      }
      if (writeIgnoreList) await this.writeIgnoreList(trx, me, add, remove);
      await this.summary.publish(trx, touched);
    });
  }

  private async writeIgnoreList(trx: Queryable, userId: string, add: string[], remove: string[]): Promise<void> {
    await accountDataStore.lockAccountData(trx, userId, '', IGNORED_USERS);
    const current = (await accountDataStore.getAccountData(trx, userId, '', IGNORED_USERS))?.content.ignored_users;
    const ignored: Record<string, unknown> = current && typeof current === 'object' && !Array.isArray(current) ? { ...(current as Record<string, unknown>) } : {};
    for (const u of add) ignored[u] = {};
    for (const u of remove) delete ignored[u];
    await this.accountData.put(userId, '', IGNORED_USERS, { ignored_users: ignored }, trx);
  }
}
