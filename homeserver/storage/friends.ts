/** Friendships, friend requests, blocks, privacy settings and the friend notifications feed. */
import type { Queryable } from './database.ts';
import { affectedRows } from './results.ts';

export interface FriendRow {
  user_id: string;
  friend_id: string;
  room_id: string | null;
  since_ts: number;
}

export interface FriendRequestRow {
  requester_id: string;
  target_id: string;
  room_id: string;
  sent_ts: number;
  hidden: boolean;
}

export interface BlockRow {
  user_id: string;
  blocked_id: string;
  since_ts: number;
}

export type Audience = 'friends' | 'everyone';

export interface PrivacyRow {
  user_id: string;
  dm_from: Audience;
  group_invites_from: Audience;
}

export type FriendNotificationKind = 'friend_request' | 'friend_accepted';

export interface FriendNotificationRow {
  id: number;
  user_id: string;
  kind: FriendNotificationKind;
  other_user_id: string;
  room_id: string | null;
  ts: number;
  read: boolean;
}

const num = <T extends object>(r: T, ...keys: Array<keyof T>): T => {
  const out = { ...r };
  for (const k of keys) (out as Record<keyof T, unknown>)[k] = Number(r[k]);
  return out;
};

// --- friendships --------------------------------------------------------------------------

export async function friendsOf(q: Queryable, userId: string): Promise<FriendRow[]> {
  const rows = await q<FriendRow>('friendships').where({ user_id: userId }).orderBy('friend_id');
  return rows.map((r) => num(r, 'since_ts'));
}

export async function areFriends(q: Queryable, a: string, b: string): Promise<boolean> {
  return Boolean(await q('friendships').where({ user_id: a, friend_id: b }).first());
}

/** Both directions, so each side lists the other. */
export async function insertFriendship(q: Queryable, a: string, b: string, roomId: string | null, ts: number): Promise<void> {
  await q('friendships')
    .insert([
      { user_id: a, friend_id: b, room_id: roomId, since_ts: ts },
      { user_id: b, friend_id: a, room_id: roomId, since_ts: ts },
    ])
    .onConflict(['user_id', 'friend_id'])
    .ignore();
}

/** Returns whether they were friends. */
export async function deleteFriendship(q: Queryable, a: string, b: string): Promise<boolean> {
  const n = await q('friendships')
    .where((w) => w.where({ user_id: a, friend_id: b }).orWhere({ user_id: b, friend_id: a }))
    .delete();
  return affectedRows(n) > 0;
}

// --- requests -----------------------------------------------------------------------------

export async function getRequest(q: Queryable, requesterId: string, targetId: string): Promise<FriendRequestRow | undefined> {
  const r = await q<FriendRequestRow>('friend_requests').where({ requester_id: requesterId, target_id: targetId }).first();
  return r && num(r, 'sent_ts');
}

export async function requestsInRoom(q: Queryable, roomId: string): Promise<FriendRequestRow[]> {
  return (await q<FriendRequestRow>('friend_requests').where({ room_id: roomId })).map((r) => num(r, 'sent_ts'));
}

/**
 * Requests the user sent (hidden ones too: sent to someone who blocked the sender, they look
 * pending to the sender like any other, and never reach the target).
 */
export async function outgoingOf(q: Queryable, userId: string): Promise<FriendRequestRow[]> {
  const rows = await q<FriendRequestRow>('friend_requests').where({ requester_id: userId }).orderBy('sent_ts');
  return rows.map((r) => num(r, 'sent_ts'));
}

/** Requests the user received and may see. */
export async function incomingOf(q: Queryable, userId: string): Promise<FriendRequestRow[]> {
  const rows = await q<FriendRequestRow>('friend_requests').where({ target_id: userId, hidden: false }).orderBy('sent_ts');
  return rows.map((r) => num(r, 'sent_ts'));
}

export async function insertRequest(q: Queryable, row: FriendRequestRow): Promise<boolean> {
  const inserted = await q('friend_requests').insert(row).onConflict(['requester_id', 'target_id']).ignore().returning('requester_id');
  return inserted.length > 0;
}

export async function deleteRequest(q: Queryable, requesterId: string, targetId: string): Promise<boolean> {
  return affectedRows(await q('friend_requests').where({ requester_id: requesterId, target_id: targetId }).delete()) > 0;
}

/** Deletes the requests between two users, both ways; returns those deleted. */
export async function deleteRequestsBetween(q: Queryable, a: string, b: string): Promise<FriendRequestRow[]> {
  const rows = await q<FriendRequestRow>('friend_requests')
    .where((w) => w.where({ requester_id: a, target_id: b }).orWhere({ requester_id: b, target_id: a }))
    .delete()
    .returning('*');
  return rows.map((r) => num(r, 'sent_ts'));
}

// --- blocks -------------------------------------------------------------------------------

export async function blocksOf(q: Queryable, userId: string): Promise<BlockRow[]> {
  return (await q<BlockRow>('user_blocks').where({ user_id: userId }).orderBy('blocked_id')).map((r) => num(r, 'since_ts'));
}

/**
 * A subquery of the users `userId` blocked. Reads filter with it (a block hides, it deletes
 * nothing), so an unblock shows everything again.
 */
export function blockedIdsOf(q: Queryable, userId: string) {
  return q('user_blocks').where('user_id', userId).select('blocked_id');
}

export async function isBlocked(q: Queryable, userId: string, blockedId: string): Promise<boolean> {
  return Boolean(await q('user_blocks').where({ user_id: userId, blocked_id: blockedId }).first());
}

/** Users whom `userId` blocked. */
export async function blockedBy(q: Queryable, userId: string): Promise<Set<string>> {
  return new Set((await q('user_blocks').where({ user_id: userId }).select('blocked_id')).map((r) => r.blocked_id as string));
}

/** Users who blocked `blockedId`. */
export async function blockersOf(q: Queryable, blockedId: string): Promise<Set<string>> {
  return new Set((await q('user_blocks').where({ blocked_id: blockedId }).select('user_id')).map((r) => r.user_id as string));
}

export async function insertBlock(q: Queryable, row: BlockRow): Promise<boolean> {
  const inserted = await q('user_blocks').insert(row).onConflict(['user_id', 'blocked_id']).ignore().returning('user_id');
  return inserted.length > 0;
}

export async function deleteBlock(q: Queryable, userId: string, blockedId: string): Promise<boolean> {
  return affectedRows(await q('user_blocks').where({ user_id: userId, blocked_id: blockedId }).delete()) > 0;
}

// --- invites from blocked users -----------------------------------------------------------

/** Records that `userId`'s invite to the room (from someone they blocked) is not shown to them. */
export async function hideInvite(q: Queryable, row: { user_id: string; room_id: string; inviter_id: string }): Promise<void> {
  await q('hidden_invites').insert(row).onConflict(['user_id', 'room_id']).merge(['inviter_id']);
}

/** The user may see the room from now on (a visible invite, or they joined). */
export async function unhideInvite(q: Queryable, userId: string, roomId: string): Promise<void> {
  await q('hidden_invites').where({ user_id: userId, room_id: roomId }).delete();
}

/** Of `roomIds`, those whose invite (and what followed it) the user is not shown. */
export async function hiddenInviteRooms(q: Queryable, userId: string, roomIds: string[]): Promise<Set<string>> {
  if (roomIds.length === 0) return new Set();
  const rows = await q('hidden_invites').where({ user_id: userId }).whereIn('room_id', roomIds).select('room_id');
  return new Set(rows.map((r) => r.room_id as string));
}

// --- privacy ------------------------------------------------------------------------------

export async function getPrivacy(q: Queryable, userId: string): Promise<PrivacyRow | undefined> {
  return q<PrivacyRow>('privacy_settings').where({ user_id: userId }).first();
}

export async function putPrivacy(q: Queryable, row: PrivacyRow): Promise<void> {
  await q('privacy_settings').insert(row).onConflict('user_id').merge();
}

// --- notifications ------------------------------------------------------------------------

export async function insertNotification(q: Queryable, row: Omit<FriendNotificationRow, 'id' | 'read'>): Promise<void> {
  await q('friend_notifications').insert({ ...row, read: false });
}

/** Newest first, below `before` (an id). */
export async function notificationsOf(q: Queryable, userId: string, before: number, limit: number): Promise<FriendNotificationRow[]> {
  const rows = await q<FriendNotificationRow>('friend_notifications')
    .where({ user_id: userId })
    .where('id', '<', before)
    .whereNotIn('other_user_id', blockedIdsOf(q, userId))
    .orderBy('id', 'desc')
    .limit(limit);
  return rows.map((r) => num(r, 'id', 'ts'));
}

export async function unreadNotificationCount(q: Queryable, userId: string): Promise<number> {
  const row = await q('friend_notifications')
    .where({ user_id: userId, read: false })
    .whereNotIn('other_user_id', blockedIdsOf(q, userId))
    .count<{ n: string }[]>({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/** Marks read every notification up to and including `upTo` (all with undefined); returns how many changed. */
export async function markNotificationsRead(q: Queryable, userId: string, upTo?: number): Promise<number> {
  const query = q('friend_notifications').where({ user_id: userId, read: false });
  if (upTo !== undefined) query.where('id', '<=', upTo);
  return affectedRows(await query.update({ read: true }));
}
