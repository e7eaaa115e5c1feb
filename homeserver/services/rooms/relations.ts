/**
 * Relations (spec: "Forming relationships between events"): edits (m.replace), threads
 * (m.thread), reactions (m.annotation, one per user and key) and references. Validated when
 * the relating event is stored; listed by /relations and /threads.
 */
import { errors, MatrixError } from '../../errors.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as friends from '../../storage/friends.ts';
import type { Requester } from '../sessions.ts';
import { encodePaginationToken } from '../sync/tokens.ts';
import { toClientEvents, type ClientEvent } from './clientEvents.ts';
import type { EventDraft } from './persister.ts';
import { relationOf } from './persister.ts';
import type { RoomService } from './roomService.ts';
import { VisibilityFilter } from './visibility.ts';

const MAX_LIMIT = 100;

export class RelationService {
  private readonly db: Db;
  private readonly rooms: RoomService;

  constructor(db: Db, rooms: RoomService) {
    this.db = db;
    this.rooms = rooms;
  }

  /** Runs under the persister's lock, so "one reaction per user and key" holds under races. */
  async validate(trx: Queryable, draft: EventDraft): Promise<void> {
    const rel = relationOf(draft.content);
    if (!rel.relates_to || !rel.rel_type) return;
    const target = await events.getEvent(trx, rel.relates_to);
    if (!target || target.room_id !== draft.roomId) throw errors.badJson('The event this relates to is not in this room.');
    switch (rel.rel_type) {
      case 'm.annotation':
        if (!rel.aggregation_key) throw errors.badJson('An annotation needs a key.');
        if (await events.findAnnotation(trx, rel.relates_to, draft.sender, rel.aggregation_key)) {
          throw new MatrixError(400, 'M_DUPLICATE_ANNOTATION', 'You already reacted with that.');
        }
        break;
      case 'm.replace':
        if (target.sender !== draft.sender) throw errors.forbidden('Only the sender of a message can edit it.');
        if (target.state_key !== null) throw errors.badJson('State events cannot be edited.');
        if (target.rel_type === 'm.replace') throw errors.badJson('Edit the original event, not an edit.');
        if (target.type !== draft.type) throw errors.badJson('An edit must have the type of the original.');
        break;
      case 'm.thread':
        if (target.rel_type && target.rel_type !== 'm.thread') throw errors.badJson('A thread cannot start from an event that relates to another.');
        if (target.rel_type === 'm.thread') throw errors.badJson('Reply to the thread root, not to an event inside the thread.');
        break;
      default:
        break;
    }
  }

  /** GET /relations/{eventId}[/{relType}[/{eventType}]]. */
  async list(
    requester: Requester,
    roomId: string,
    eventId: string,
    opts: { relType?: string; eventType?: string; from?: number; to?: number; dir: 'b' | 'f'; limit: number },
  ): Promise<{ chunk: ClientEvent[]; next_batch?: string; prev_batch?: string }> {
    const readable = await this.rooms.readableUpTo(requester.userId, roomId);
    await this.rooms.event(requester, roomId, eventId);
    const limit = Math.min(opts.limit, MAX_LIMIT);
    const window = opts.dir === 'b'
      ? { after: opts.to ?? 0, upTo: Math.min(opts.from ?? readable, readable) }
      : { after: opts.from ?? 0, upTo: Math.min(opts.to ?? readable, readable) };
    const rows = await events.relationsOf(this.db, eventId, { ...opts, ...window, limit, hiddenFor: requester.userId });
    const visibility = await VisibilityFilter.forUser(this.db, roomId, requester.userId);
    const last = rows.at(-1);
    const next = last && rows.length === limit ? encodePaginationToken(opts.dir === 'b' ? last.stream_ordering - 1 : last.stream_ordering) : undefined;
    return {
      chunk: await toClientEvents(this.db, rows.filter((r) => visibility.canSee(r.stream_ordering)), requester),
      ...(next ? { next_batch: next } : {}),
      ...(opts.from !== undefined ? { prev_batch: encodePaginationToken(opts.from) } : {}),
    };
  }

  /** GET /threads: thread roots, most recently active first. */
  async threads(requester: Requester, roomId: string, opts: { participatedOnly: boolean; from?: number; limit: number }): Promise<{ chunk: ClientEvent[]; next_batch?: string }> {
    await this.rooms.readableUpTo(requester.userId, roomId);
    const limit = Math.min(opts.limit, MAX_LIMIT);
    const query = this.db('events')
      .where({ room_id: roomId, rel_type: 'm.thread' })
      .whereNull('redacted_by')
      .groupBy('relates_to')
      .select('relates_to', this.db.raw('max(stream_ordering) as latest'))
      .orderBy('latest', 'desc')
      .limit(limit);
    if (opts.from !== undefined) query.having(this.db.raw('max(stream_ordering) <= ?', [opts.from]));
    if (opts.participatedOnly) query.havingRaw('bool_or(sender = ?)', [requester.userId]);
    // Blocked senders' replies do not make a thread active; their own threads are not listed.
    events.hideBlocked(this.db, query, requester.userId);
    const roots = (await query) as Array<{ relates_to: string; latest: string }>;
    const rows = await events.getEvents(this.db, roots.map((r) => r.relates_to));
    const blocked = await friends.blockedBy(this.db, requester.userId);
    const byId = new Map(rows.filter((r) => r.state_key !== null || !blocked.has(r.sender)).map((r) => [r.event_id, r]));
    const visibility = await VisibilityFilter.forUser(this.db, roomId, requester.userId);
    const ordered = roots.map((r) => byId.get(r.relates_to)).filter((r): r is events.EventRow => !!r && visibility.canSee(r.stream_ordering));
    const last = roots.at(-1);
    return {
      chunk: await toClientEvents(this.db, ordered, requester),
      ...(last && roots.length === limit ? { next_batch: encodePaginationToken(Number(last.latest) - 1) } : {}),
    };
  }
}
