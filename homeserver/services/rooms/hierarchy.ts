/**
 * Spec: the space hierarchy (GET /rooms/{roomId}/hierarchy). Walks m.space.child links
 * breadth-first from a room, showing each room the requester may see (joined, or public, or
 * world-readable) with its m.space.child state; rooms they may not see are left out.
 */
import { errors } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as roomState from '../../storage/roomState.ts';
import type { DirectoryService, PublicRoom } from './directory.ts';

export interface HierarchyRoom extends PublicRoom {
  children_state: Array<{ type: string; state_key: string; content: Record<string, unknown>; sender: string; origin_server_ts: number }>;
}

export interface HierarchyRequest {
  from?: string;
  limit?: number;
  maxDepth?: number;
  suggestedOnly?: boolean;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;
const MAX_DEPTH = 10;
/** No walk visits more rooms than this, however the links loop. */
const MAX_ROOMS = 1000;

export class HierarchyService {
  private readonly db: Db;
  private readonly directory: DirectoryService;

  constructor(db: Db, directory: DirectoryService) {
    this.db = db;
    this.directory = directory;
  }

  async hierarchy(userId: string, rootId: string, req: HierarchyRequest): Promise<{ rooms: HierarchyRoom[]; next_batch?: string }> {
    const offset = req.from === undefined ? 0 : Number(req.from);
    if (!Number.isInteger(offset) || offset < 0) throw errors.invalidParam('Unknown pagination token.');
    const limit = Math.max(1, Math.min(MAX_LIMIT, req.limit ?? DEFAULT_LIMIT));
    const maxDepth = Math.max(0, Math.min(MAX_DEPTH, req.maxDepth ?? MAX_DEPTH));
    if (!(await roomState.getRoom(this.db, rootId))) throw errors.notFound('Unknown room.');
    if (!(await this.canSee(userId, rootId))) throw errors.forbidden('You cannot see this room.');

    // Breadth-first, each room once; the page is a slice of the whole walk (stable for a
    // given state, which is what `from` relies on).
    const walk: HierarchyRoom[] = [];
    const seen = new Set<string>([rootId]);
    let frontier = [rootId];
    for (let depth = 0; frontier.length && walk.length < offset + limit && seen.size < MAX_ROOMS; depth++) {
      const next: string[] = [];
      for (const roomId of frontier) {
        const room = await this.describe(roomId);
        walk.push(room);
        if (depth >= maxDepth) continue;
        for (const child of room.children_state) {
          if (req.suggestedOnly && child.content.suggested !== true) continue;
          if (seen.has(child.state_key) || !(await roomState.getRoom(this.db, child.state_key))) continue;
          seen.add(child.state_key);
          if (await this.canSee(userId, child.state_key)) next.push(child.state_key);
        }
      }
      frontier = next;
    }
    const page = walk.slice(offset, offset + limit);
    const more = walk.length > offset + limit || frontier.length > 0;
    return { rooms: page, ...(more && page.length === limit ? { next_batch: String(offset + limit) } : {}) };
  }

  private async describe(roomId: string): Promise<HierarchyRoom> {
    const state = await events.stateEventsBetween(this.db, roomId, 0, Number.MAX_SAFE_INTEGER);
    const children = state.filter((e) => e.type === 'm.space.child' && e.state_key && Array.isArray((e.json.content as { via?: unknown }).via));
    return {
      ...(await this.directory.describe(roomId)),
      children_state: children.map((e) => ({
        type: e.type, state_key: e.state_key!, content: e.json.content as Record<string, unknown>, sender: e.sender, origin_server_ts: e.origin_server_ts,
      })),
    };
  }

  /** Joined members see a room; others only when anyone may join or read it. */
  private async canSee(userId: string, roomId: string): Promise<boolean> {
    if ((await roomState.membershipOf(this.db, roomId, userId)) === 'join') return true;
    const room = await this.directory.describe(roomId);
    return room.join_rule === 'public' || room.join_rule === 'knock' || room.world_readable;
  }
}
