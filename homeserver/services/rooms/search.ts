/** POST /search (room events by body): rank or recency order, paging, optional context. */
import { errors } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as roomState from '../../storage/roomState.ts';
import * as search from '../../storage/search.ts';
import type { Requester } from '../sessions.ts';
import type { RoomEventFilter } from '../sync/filter.ts';
import { toClientEvents, type ClientEvent } from './clientEvents.ts';
import { VisibilityFilter } from './visibility.ts';

export interface SearchRequest {
  term: string;
  filter?: RoomEventFilter;
  order: 'rank' | 'recent';
  context?: { before: number; after: number };
  nextBatch?: string;
}

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

export class SearchService {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async search(requester: Requester, req: SearchRequest) {
    const term = req.term.trim();
    if (!term) throw errors.badJson('search_term must not be empty.');
    const mine = (await roomState.roomsOfUser(this.db, requester.userId, ['join', 'leave', 'ban'])).map((r) => r.room_id);
    const roomIds = mine.filter((r) => (!req.filter?.rooms || req.filter.rooms.includes(r)) && !req.filter?.not_rooms?.includes(r));
    const limit = Math.min(req.filter?.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
    const page = this.decodeBatch(req.nextBatch, req.order);
    const { rows, count } = await search.searchMessages(this.db, {
      term, roomIds, senders: req.filter?.senders, notSenders: req.filter?.not_senders, order: req.order, limit, ...page, hiddenFor: requester.userId,
    });
    const filters = new Map<string, VisibilityFilter>();
    const visible: typeof rows = [];
    for (const row of rows) {
      if (!filters.has(row.room_id)) filters.set(row.room_id, await VisibilityFilter.forUser(this.db, row.room_id, requester.userId));
      if (filters.get(row.room_id)!.canSee(row.stream_ordering)) visible.push(row);
    }
    const clientEvents = await toClientEvents(this.db, visible, requester);
    const results = [];
    for (const [i, row] of visible.entries()) {
      const result: { rank: number; result: ClientEvent; context?: unknown } = { rank: row.rank, result: clientEvents[i] };
      if (req.context) result.context = await this.context(requester, row, req.context, filters.get(row.room_id)!);
      results.push(result);
    }
    const last = rows.at(-1);
    let next: string | undefined;
    if (last && rows.length === limit) next = req.order === 'rank' ? `o${(page.offset ?? 0) + limit}` : `p${last.stream_ordering}`;
    return {
      search_categories: {
        room_events: {
          results,
          count,
          highlights: [...new Set(term.toLowerCase().split(/\W+/u).filter(Boolean))],
          ...(next ? { next_batch: next } : {}),
        },
      },
    };
  }

  private decodeBatch(batch: string | undefined, order: 'rank' | 'recent'): { offset?: number; before?: number } {
    if (!batch) return {};
    const m = /^([op])(\d{1,15})$/.exec(batch);
    if (!m || (m[1] === 'o') !== (order === 'rank')) throw errors.invalidParam('Unknown next_batch for this search.');
    return m[1] === 'o' ? { offset: Number(m[2]) } : { before: Number(m[2]) };
  }

  private async context(requester: Requester, row: events.EventRow, c: { before: number; after: number }, visibility: VisibilityFilter) {
    const [before, after] = await Promise.all([
      c.before ? events.roomEvents(this.db, row.room_id, { after: 0, upTo: row.stream_ordering - 1, dir: 'b', limit: c.before, hiddenFor: requester.userId }) : [],
      c.after ? events.roomEvents(this.db, row.room_id, { after: row.stream_ordering, upTo: Number.MAX_SAFE_INTEGER, dir: 'f', limit: c.after, hiddenFor: requester.userId }) : [],
    ]);
    const see = (rows: events.EventRow[]) => rows.filter((r) => visibility.canSee(r.stream_ordering));
    return {
      events_before: await toClientEvents(this.db, see(before), requester),
      events_after: await toClientEvents(this.db, see(after), requester),
    };
  }
}
