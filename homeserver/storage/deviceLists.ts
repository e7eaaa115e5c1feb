/** Whose device lists changed when, and who shares rooms with whom (who must hear of it). */
import type { Queryable } from './database.ts';

export async function markChanged(q: Queryable, userId: string, position: number): Promise<void> {
  await q('device_list_changes').insert({ user_id: userId, stream_position: position }).onConflict('user_id').merge(['stream_position']);
}

/** Of the given users, those whose devices changed in (after, upTo]. */
export async function changedBetween(q: Queryable, userIds: string[], after: number, upTo: number): Promise<string[]> {
  if (userIds.length === 0 || upTo <= after) return [];
  const rows = await q('device_list_changes')
    .whereIn('user_id', userIds)
    .where('stream_position', '>', after)
    .where('stream_position', '<=', upTo)
    .select('user_id');
  return rows.map((r: { user_id: string }) => r.user_id);
}

/** `signer` signed `target`'s master key: news for the signer's devices only. */
export async function markChangedForSigner(q: Queryable, signer: string, target: string, position: number): Promise<void> {
  await q('device_list_signer_changes').insert({ signer_user_id: signer, target_user_id: target, stream_position: position })
    .onConflict(['signer_user_id', 'target_user_id']).merge(['stream_position']);
}

/** The users whose master key `signer` signed in (after, upTo]. */
export async function signedBetween(q: Queryable, signer: string, after: number, upTo: number): Promise<string[]> {
  if (upTo <= after) return [];
  const rows = await q('device_list_signer_changes')
    .where('signer_user_id', signer)
    .where('stream_position', '>', after)
    .where('stream_position', '<=', upTo)
    .select('target_user_id');
  return rows.map((r: { target_user_id: string }) => r.target_user_id);
}

/** Everyone joined to a room the user is joined to (the user included). */
export async function usersSharingRoomWith(q: Queryable, userId: string): Promise<Set<string>> {
  const rows = await q('current_state as mine')
    .join('current_state as theirs', function () {
      this.on('theirs.room_id', 'mine.room_id').andOnVal('theirs.type', 'm.room.member').andOnVal('theirs.membership', 'join');
    })
    .where({ 'mine.type': 'm.room.member', 'mine.state_key': userId, 'mine.membership': 'join' })
    .distinct('theirs.state_key as user_id');
  return new Set([userId, ...rows.map((r: { user_id: string }) => r.user_id)]);
}
