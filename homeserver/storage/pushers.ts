/** Pushers per user, keyed by app id and push key. */
import type { Queryable } from './database.ts';

export async function listPushers(q: Queryable, userId: string): Promise<Array<Record<string, unknown>>> {
  const rows = await q('pushers').where({ user_id: userId }).orderBy('updated_ts').select('pusher');
  return rows.map((r: { pusher: unknown }) => (typeof r.pusher === 'string' ? JSON.parse(r.pusher) : r.pusher) as Record<string, unknown>);
}

export async function putPusher(q: Queryable, userId: string, appId: string, pushkey: string, pusher: Record<string, unknown>, replaceOthers: boolean): Promise<void> {
  if (replaceOthers) await q('pushers').where({ app_id: appId, pushkey }).whereNot({ user_id: userId }).delete();
  await q('pushers')
    .insert({ user_id: userId, app_id: appId, pushkey, pusher: JSON.stringify(pusher), updated_ts: Date.now() })
    .onConflict(['user_id', 'app_id', 'pushkey'])
    .merge(['pusher', 'updated_ts']);
}

export async function deletePusher(q: Queryable, userId: string, appId: string, pushkey: string): Promise<void> {
  await q('pushers').where({ user_id: userId, app_id: appId, pushkey }).delete();
}
