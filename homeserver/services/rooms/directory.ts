/**
 * The room directory: aliases (#name:server), which rooms are published, and the public
 * room list. Also validates m.room.canonical_alias events against the aliases that exist.
 */
import { errors, MatrixError } from '../../errors.ts';
import * as aliases from '../../storage/aliases.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as events from '../../storage/events.ts';
import * as roomState from '../../storage/roomState.ts';
import type { Requester } from '../sessions.ts';
import type { UserIds } from '../userIds.ts';
import { requiredPowerLevel, userPowerLevel } from './authRules.ts';
import type { EventDraft } from './persister.ts';
import type { RoomService } from './roomService.ts';

export interface PublicRoom {
  room_id: string;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  join_rule?: string;
  room_type?: string;
}

const ALIAS_LOCALPART = /^[^\s:#]{1,200}$/;
const MAX_PUBLIC_ROOMS = 500;

export class DirectoryService {
  private readonly db: Db;
  private readonly rooms: RoomService;
  private readonly userIds: UserIds;

  constructor(deps: { db: Db; rooms: RoomService; userIds: UserIds }) {
    this.db = deps.db;
    this.rooms = deps.rooms;
    this.userIds = deps.userIds;
  }

  /** `#name:server` for this server, or throws M_INVALID_PARAM. */
  checkAlias(alias: string): void {
    const server = `:${this.userIds.serverName}`;
    if (!alias.startsWith('#') || !alias.endsWith(server) || !ALIAS_LOCALPART.test(alias.slice(1, -server.length))) {
      throw errors.invalidParam(`Room aliases look like #name${server}.`);
    }
  }

  async resolve(alias: string): Promise<{ room_id: string; servers: string[] }> {
    const found = await aliases.getAlias(this.db, alias);
    if (!found) throw errors.notFound(`Room alias ${alias} not found.`);
    return { room_id: found.room_id, servers: [this.userIds.serverName] };
  }

  async create(requester: Requester, alias: string, roomId: string): Promise<void> {
    this.checkAlias(alias);
    await this.rooms.requireRoom(roomId);
    if ((await roomState.membershipOf(this.db, roomId, requester.userId)) !== 'join') {
      throw errors.forbidden('You must be in the room to give it an alias.');
    }
    if (!(await aliases.insertAlias(this.db, alias, roomId, requester.userId))) {
      throw new MatrixError(409, 'M_UNKNOWN', `Room alias ${alias} already exists.`);
    }
  }

  /** Free for createRoom's room_alias_name (M_ROOM_IN_USE otherwise, as the spec asks). */
  async checkFree(alias: string): Promise<void> {
    this.checkAlias(alias);
    if (await aliases.getAlias(this.db, alias)) throw new MatrixError(400, 'M_ROOM_IN_USE', `Room alias ${alias} already exists.`);
  }

  /** createRoom's room_alias_name: the alias, then the room's canonical alias naming it. */
  async aliasNewRoom(requester: Requester, roomId: string, alias: string): Promise<void> {
    if (!(await aliases.insertAlias(this.db, alias, roomId, requester.userId))) {
      throw new MatrixError(400, 'M_ROOM_IN_USE', `Room alias ${alias} already exists.`);
    }
    await this.rooms.setState(requester, roomId, 'm.room.canonical_alias', '', { alias });
  }

  async remove(requester: Requester, alias: string): Promise<void> {
    this.checkAlias(alias);
    const found = await aliases.getAlias(this.db, alias);
    if (!found) throw errors.notFound(`Room alias ${alias} not found.`);
    if (found.creator !== requester.userId && !requester.isAdmin && !(await this.canManage(requester.userId, found.room_id, 'm.room.canonical_alias'))) {
      throw errors.forbidden('Only its creator or a room moderator can remove this alias.');
    }
    await aliases.deleteAlias(this.db, alias);
  }

  async roomAliases(requester: Requester, roomId: string): Promise<string[]> {
    await this.rooms.readableUpTo(requester.userId, roomId);
    return aliases.aliasesOf(this.db, roomId);
  }

  async visibility(roomId: string): Promise<'public' | 'private'> {
    const room = await this.rooms.requireRoom(roomId);
    return room.published ? 'public' : 'private';
  }

  async setVisibility(requester: Requester, roomId: string, visibility: 'public' | 'private'): Promise<void> {
    await this.rooms.requireRoom(roomId);
    if (!requester.isAdmin && !(await this.canManage(requester.userId, roomId, 'm.room.canonical_alias'))) {
      throw errors.forbidden('Only room moderators can publish a room.');
    }
    await aliases.setPublished(this.db, roomId, visibility === 'public');
  }

  /** GET/POST /publicRooms: published rooms, biggest first, filtered by a search term. */
  async publicRooms(opts: { limit?: number; since?: string; search?: string }): Promise<{ chunk: PublicRoom[]; next_batch?: string; prev_batch?: string; total_room_count_estimate: number }> {
    const all: PublicRoom[] = [];
    for (const roomId of (await aliases.publishedRooms(this.db)).slice(0, MAX_PUBLIC_ROOMS)) all.push(await this.describe(roomId));
    const term = opts.search?.toLowerCase();
    const matching = all
      .filter((r) => !term || [r.name, r.topic, r.canonical_alias].some((v) => v?.toLowerCase().includes(term)))
      .sort((a, b) => b.num_joined_members - a.num_joined_members || a.room_id.localeCompare(b.room_id));
    const offset = opts.since && /^o\d{1,6}$/.test(opts.since) ? Number(opts.since.slice(1)) : 0;
    const limit = opts.limit ?? matching.length;
    const chunk = matching.slice(offset, offset + limit);
    return {
      chunk,
      ...(offset + limit < matching.length ? { next_batch: `o${offset + limit}` } : {}),
      ...(offset > 0 ? { prev_batch: `o${Math.max(0, offset - limit)}` } : {}),
      total_room_count_estimate: matching.length,
    };
  }

  /** Persister check: a canonical alias may only name aliases that point to this room. */
  async validate(trx: Queryable, draft: EventDraft): Promise<void> {
    if (draft.type !== 'm.room.canonical_alias' || draft.stateKey !== '') return;
    const c = draft.content as { alias?: unknown; alt_aliases?: unknown };
    const named = [...(c.alias != null ? [c.alias] : []), ...(Array.isArray(c.alt_aliases) ? c.alt_aliases : [])];
    if (c.alt_aliases !== undefined && !Array.isArray(c.alt_aliases)) throw errors.badJson('alt_aliases must be a list.');
    for (const alias of named) {
      if (typeof alias !== 'string') throw new MatrixError(400, 'M_BAD_ALIAS', 'Aliases must be strings.');
      const found = await aliases.getAlias(trx, alias);
      if (!found || found.room_id !== draft.roomId) throw new MatrixError(400, 'M_BAD_ALIAS', `${alias} does not point to this room.`);
    }
  }

  private async canManage(userId: string, roomId: string, eventType: string): Promise<boolean> {
    const state = await this.rooms.authState(roomId, ['m.room.power_levels', 'm.room.create']);
    return userPowerLevel(state, userId) >= requiredPowerLevel(state, eventType, true);
  }

  /** The public facts of a room: what the room list and the space hierarchy show. */
  async describe(roomId: string): Promise<PublicRoom> {
    const rows = await events.stateEventsBetween(this.db, roomId, 0, Number.MAX_SAFE_INTEGER);
    const get = (type: string) => rows.find((e) => e.type === type && e.state_key === '')?.json.content ?? {};
    const members = await roomState.roomMembers(this.db, roomId, ['join']);
    const room: PublicRoom = {
      room_id: roomId,
      num_joined_members: members.length,
      world_readable: get('m.room.history_visibility').history_visibility === 'world_readable',
      guest_can_join: get('m.room.guest_access').guest_access === 'can_join',
    };
    const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const fields = {
      name: text(get('m.room.name').name), topic: text(get('m.room.topic').topic), canonical_alias: text(get('m.room.canonical_alias').alias),
      avatar_url: text(get('m.room.avatar').url), join_rule: text(get('m.room.join_rules').join_rule), room_type: text(get('m.room.create').type),
    };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (room as unknown as Record<string, unknown>)[k] = v;
    return room;
  }
}
