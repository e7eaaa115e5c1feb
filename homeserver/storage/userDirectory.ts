/** User directory search over profiles, limited to the users a searcher may discover. */
import type { Queryable } from './database.ts';

export interface DirectoryEntry {
  user_id: string;
  displayname: string | null;
  avatar_url: string | null;
}

/** `%`, `_` and `\` taken literally inside a LIKE pattern. */
function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Active users matching `term` (in the user id or display name, case-insensitively) who are
 * in `visibleTo`'s reach: their friends, those sharing a room with them, those joined to a
 * published room, or listed in `alsoVisible` — minus anyone who blocked them. Closest matches
 * first: a localpart or name that starts with the term.
 */
export async function searchUsers(q: Queryable, visibleTo: string, term: string, limit: number, alsoVisible: string[] = []): Promise<DirectoryEntry[]> {
  const pattern = `%${likeLiteral(term.toLowerCase())}%`;
  const prefix = `${likeLiteral(term.toLowerCase())}%`;
  const shared = q('current_state as mine')
    .join('current_state as theirs', function () {
      this.on('theirs.room_id', 'mine.room_id').andOnVal('theirs.type', 'm.room.member').andOnVal('theirs.membership', 'join');
    })
    .where({ 'mine.type': 'm.room.member', 'mine.state_key': visibleTo, 'mine.membership': 'join' })
    .select('theirs.state_key');
  const inPublished = q('current_state as cs')
    .join('rooms as r', 'r.room_id', 'cs.room_id')
    .where({ 'r.published': true, 'cs.type': 'm.room.member', 'cs.membership': 'join' })
    .select('cs.state_key');
  const friends = q('friendships').where('user_id', visibleTo).select('friend_id');
  const blockedThem = q('user_blocks').where('blocked_id', visibleTo).select('user_id');
  return q<DirectoryEntry>('users as u')
    .where('u.deactivated', false)
    .whereNotIn('u.user_id', blockedThem)
    .where((w) => {
      w.whereIn('u.user_id', shared).orWhereIn('u.user_id', inPublished).orWhereIn('u.user_id', friends);
      if (alsoVisible.length) w.orWhereIn('u.user_id', alsoVisible);
    })
    .where((w) => w.whereRaw('lower(u.user_id) like ?', [pattern]).orWhereRaw('lower(u.displayname) like ?', [pattern]))
    .orderByRaw('(lower(u.localpart) like ? or lower(u.displayname) like ?) desc', [prefix, prefix])
    .orderByRaw('lower(coalesce(u.displayname, u.localpart))')
    .limit(limit)
    .select('u.user_id', 'u.displayname', 'u.avatar_url');
}
