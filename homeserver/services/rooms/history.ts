/**
 * /messages: paging through a room's history in either direction with stable tokens, only
 * as far as the user's membership and the room's history visibility allow.
 */
import { errors } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as filters from '../../storage/filters.ts';
import type { Requester } from '../sessions.ts';
import { roomEventFilterSchema, type RoomEventFilter } from '../sync/filter.ts';
import type { Notifier } from '../sync/notifier.ts';
import { encodePaginationToken } from '../sync/tokens.ts';
import { toClientEvents, type ClientEvent } from './clientEvents.ts';
import type { RoomService } from './roomService.ts';
import { VisibilityFilter } from './visibility.ts';

export interface MessagesRequest {
  from?: number;
  to?: number;
  dir: 'b' | 'f';
  limit: number;
  /** A JSON RoomEventFilter (or a stored filter's id, as some clients send). */
  filter?: string;
}

const MAX_LIMIT = 1000;

export class HistoryService {
  private readonly db: Db;
  private readonly rooms: RoomService;
  private readonly notifier: Notifier;

  constructor(deps: { db: Db; rooms: RoomService; notifier: Notifier }) {
    this.db = deps.db;
    this.rooms = deps.rooms;
    this.notifier = deps.notifier;
  }

  async messages(requester: Requester, roomId: string, req: MessagesRequest): Promise<{ chunk: ClientEvent[]; start: string; end?: string; state: ClientEvent[] }> {
    const readable = await this.rooms.readableUpTo(requester.userId, roomId);
    const filter = await this.parseFilter(requester.userId, req.filter);
    const limit = Math.min(filter?.limit ?? req.limit, req.limit, MAX_LIMIT);
    const head = Math.min(this.notifier.current().events, readable);
    const start = req.from ?? (req.dir === 'b' ? head : 0);
    const window =
      req.dir === 'b'
        ? { after: req.to ?? 0, upTo: Math.min(start, head) }
        : { after: start, upTo: Math.min(req.to ?? head, head) };
    const rows = limit === 0 ? [] : await events.roomEvents(this.db, roomId, {
      ...window, dir: req.dir, limit, types: filter?.types, notTypes: filter?.not_types, senders: filter?.senders, notSenders: filter?.not_senders,
      // Left out in the query, not after it: a page still holds `limit` events when there are
      // more, so `end` is given exactly when more follow, and tokens stay stream positions.
      hiddenFor: requester.userId,
    });
    const visibility = await VisibilityFilter.forUser(this.db, roomId, requester.userId);
    const visible = rows.filter((r) => visibility.canSee(r.stream_ordering));
    const last = rows.at(-1);
    // Fewer rows than asked for: this direction is exhausted, so no `end` (spec).
    let end: string | undefined;
    if (last && rows.length === limit) end = encodePaginationToken(req.dir === 'b' ? last.stream_ordering - 1 : last.stream_ordering);
    const chunk = await toClientEvents(this.db, visible, requester);
    let state: ClientEvent[] = [];
    if (filter?.lazy_load_members && visible.length) {
      const senders = new Set(visible.map((e) => e.sender));
      const upTo = Math.max(...visible.map((e) => e.stream_ordering));
      const members = (await events.stateEventsBetween(this.db, roomId, 0, upTo)).filter((e) => e.type === 'm.room.member' && senders.has(e.state_key ?? ''));
      state = await toClientEvents(this.db, members, requester);
    }
    return { chunk, start: encodePaginationToken(start), ...(end ? { end } : {}), state };
  }

  /**
   * GET /context/{eventId}: the event with up to `limit` events around it, and the state then.
   * The event itself must be one the user may see (a blocked sender's message is not found).
   */
  async context(requester: Requester, roomId: string, eventId: string, opts: { limit: number; filter?: string }) {
    const event = await this.rooms.event(requester, roomId, eventId);
    const readable = await this.rooms.readableUpTo(requester.userId, roomId);
    const row = (await events.getEvent(this.db, eventId))!;
    const filter = await this.parseFilter(requester.userId, opts.filter);
    const half = Math.floor(Math.min(opts.limit, MAX_LIMIT) / 2);
    const head = Math.min(this.notifier.current().events, readable);
    const around = (after: number, upTo: number, dir: 'b' | 'f', limit: number) =>
      limit === 0 ? Promise.resolve([]) : events.roomEvents(this.db, roomId, {
        after, upTo, dir, limit, types: filter?.types, notTypes: filter?.not_types, senders: filter?.senders, notSenders: filter?.not_senders,
        hiddenFor: requester.userId,
      });
    const [before, after] = await Promise.all([around(0, row.stream_ordering - 1, 'b', half), around(row.stream_ordering, head, 'f', Math.min(opts.limit, MAX_LIMIT) - half)]);
    const visibility = await VisibilityFilter.forUser(this.db, roomId, requester.userId);
    const visible = (rows: events.EventRow[]) => rows.filter((r) => visibility.canSee(r.stream_ordering));
    const lastPosition = after.at(-1)?.stream_ordering ?? row.stream_ordering;
    let stateRows = await events.stateEventsBetween(this.db, roomId, 0, lastPosition);
    if (filter?.lazy_load_members) {
      const senders = new Set([...before, row, ...after].map((e) => e.sender));
      stateRows = stateRows.filter((e) => e.type !== 'm.room.member' || senders.has(e.state_key ?? ''));
    }
    return {
      event,
      events_before: await toClientEvents(this.db, visible(before), requester),
      events_after: await toClientEvents(this.db, visible(after), requester),
      start: encodePaginationToken((before.at(-1)?.stream_ordering ?? row.stream_ordering) - 1),
      end: encodePaginationToken(lastPosition),
      state: await toClientEvents(this.db, stateRows, requester),
    };
  }

  private async parseFilter(userId: string, raw: string | undefined): Promise<RoomEventFilter | undefined> {
    if (raw === undefined || raw === '') return undefined;
    let value: unknown;
    if (/^\d+$/.test(raw)) {
      const stored = (await filters.getFilter(this.db, userId, raw)) as { room?: { timeline?: unknown } } | undefined;
      if (!stored) throw errors.notFound('No such filter.');
      value = stored.room?.timeline ?? {};
    } else {
      try {
        value = JSON.parse(raw);
      } catch {
        throw errors.invalidParam('filter is not valid JSON.');
      }
    }
    const parsed = roomEventFilterSchema.safeParse(value);
    if (!parsed.success) throw errors.invalidParam(`Invalid filter: ${parsed.error.issues[0].message}`);
    return parsed.data;
  }
}
