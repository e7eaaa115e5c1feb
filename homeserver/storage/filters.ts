/** Sync filters uploaded by clients (POST /user/{userId}/filter). */
import type { Queryable } from './database.ts';

export async function insertFilter(q: Queryable, userId: string, filter: unknown): Promise<string> {
  const [r] = await q('filters').insert({ user_id: userId, filter: JSON.stringify(filter) }).returning('filter_id');
  return String(r.filter_id);
}

export async function getFilter(q: Queryable, userId: string, filterId: string): Promise<unknown | undefined> {
  if (!/^\d{1,18}$/.test(filterId)) return undefined;
  const r = await q('filters').where({ user_id: userId, filter_id: filterId }).first('filter');
  if (!r) return undefined;
  return typeof r.filter === 'string' ? JSON.parse(r.filter) : r.filter;
}
