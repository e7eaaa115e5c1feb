/** Full text search over message bodies (PostgreSQL text search; works on PGlite too). */
import type { Queryable } from './database.ts';
import { hideBlocked, type EventRow } from './events.ts';

const VECTOR = "to_tsvector('simple', coalesce(e.json->'content'->>'body', ''))";

export interface SearchOptions {
  term: string;
  roomIds: string[];
  senders?: string[];
  notSenders?: string[];
  order: 'rank' | 'recent';
  limit: number;
  /** rank order: rows to skip; recent order: only events below this position. */
  offset?: number;
  before?: number;
  /** The searcher: messages of senders they blocked are not found (nor counted). */
  hiddenFor?: string;
}

export async function searchMessages(q: Queryable, o: SearchOptions): Promise<{ rows: Array<EventRow & { rank: number }>; count: number }> {
  if (!o.roomIds.length) return { rows: [], count: 0 };
  const base = () => {
    const query = q('events as e')
      .where('e.type', 'm.room.message')
      .whereNull('e.redacted_by')
      .whereIn('e.room_id', o.roomIds)
      .whereRaw(`${VECTOR} @@ websearch_to_tsquery('simple', ?)`, [o.term]);
    if (o.senders?.length) query.whereIn('e.sender', o.senders);
    if (o.notSenders?.length) query.whereNotIn('e.sender', o.notSenders);
    if (o.hiddenFor !== undefined) hideBlocked(q, query, o.hiddenFor, 'e');
    return query;
  };
  const query = base()
    .select('e.*', q.raw(`ts_rank(${VECTOR}, websearch_to_tsquery('simple', ?)) as rank`, [o.term]))
    .limit(o.limit);
  if (o.order === 'rank') query.orderBy([{ column: 'rank', order: 'desc' }, { column: 'e.stream_ordering', order: 'desc' }]).offset(o.offset ?? 0);
  else {
    query.orderBy('e.stream_ordering', 'desc');
    if (o.before !== undefined) query.where('e.stream_ordering', '<', o.before);
  }
  const [rows, countRows] = await Promise.all([query, base().count<{ n: string }[]>({ n: '*' })]);
  return {
    rows: rows.map((r: Record<string, unknown>) => ({
      ...(r as unknown as EventRow),
      stream_ordering: Number(r.stream_ordering),
      origin_server_ts: Number(r.origin_server_ts),
      depth: Number(r.depth),
      json: typeof r.json === 'string' ? JSON.parse(r.json) : (r.json as EventRow['json']),
      rank: Number(r.rank),
    })),
    count: Number(countRows[0].n),
  };
}
