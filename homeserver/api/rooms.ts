/** Spec: room creation, membership, sending, state, redaction, reading events and members. */
import { z } from 'zod';
import { errors, MatrixError } from '../errors.ts';
import type { Services } from '../services/index.ts';
import type { Requester } from '../services/sessions.ts';
import { decodePaginationToken } from '../services/sync/tokens.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody, parseQuery } from './validate.ts';

const userIdField = z.string().min(1).max(255);
const reasonField = z.string().max(1024).optional();
const jsonObject = z.record(z.string(), z.unknown());

const createRoomBody = z.object({
  preset: z.enum(['private_chat', 'trusted_private_chat', 'public_chat']).optional(),
  visibility: z.enum(['public', 'private']).optional(),
  room_version: z.string().max(32).optional(),
  name: z.string().max(255).optional(),
  topic: z.string().max(4096).optional(),
  invite: z.array(userIdField).max(100).optional(),
  invite_3pid: z.array(z.unknown()).max(0, 'Third-party invites are not supported.').optional(),
  is_direct: z.boolean().optional(),
  initial_state: z.array(z.object({ type: z.string().min(1).max(255), state_key: z.string().max(255).optional(), content: jsonObject })).max(100).optional(),
  power_level_content_override: jsonObject.optional(),
  creation_content: jsonObject.optional(),
  room_alias_name: z.string().max(200).optional(),
}).loose();

const membershipBody = z.object({ user_id: userIdField, reason: reasonField });
const reasonBody = z.object({ reason: reasonField });
const redactBody = z.object({ reason: reasonField });
const messagesQuery = z.object({
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  dir: z.enum(['b', 'f']).optional(),
  limit: z.coerce.number().int().min(0).max(1000).optional(),
  filter: z.string().max(8192).optional(),
});
const contextQuery = z.object({ limit: z.coerce.number().int().min(0).max(1000).optional(), filter: z.string().max(8192).optional() });
const membersQuery = z.object({
  at: z.string().max(64).optional(),
  membership: z.enum(['join', 'invite', 'leave', 'ban', 'knock']).optional(),
  not_membership: z.enum(['join', 'invite', 'leave', 'ban', 'knock']).optional(),
});

/** A membership act on another user ({user_id, reason}): invite, kick, ban, unban. */
function targeted(act: (requester: Requester, roomId: string, userId: string, reason?: string) => Promise<void>) {
  return async (ctx: Ctx) => {
    const body = parseBody(membershipBody, ctx.state.body);
    await act(ctx.state.requester!, ctx.params.roomId, body.user_id, body.reason);
    ctx.body = {};
  };
}

export function roomHandlers(s: Services) {
  return {
    async createRoom(ctx: Ctx) {
      const body = parseBody(createRoomBody, ctx.state.body);
      if (body.room_version !== undefined && body.room_version !== '10' && body.room_version !== '11') {
        throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${body.room_version} is not supported; use 10 or 11.`);
      }
      const alias = body.room_alias_name !== undefined ? `#${body.room_alias_name}:${s.config.serverName}` : undefined;
      if (alias) await s.directory.checkFree(alias);
      const roomId = await s.rooms.createRoom(ctx.state.requester!, {
        preset: body.preset, visibility: body.visibility, roomVersion: body.room_version as '10' | '11' | undefined,
        name: body.name, topic: body.topic, invite: body.invite, isDirect: body.is_direct, initialState: body.initial_state,
        powerLevelOverride: body.power_level_content_override, creationContent: body.creation_content, roomAliasName: body.room_alias_name,
      });
      if (alias) await s.directory.aliasNewRoom(ctx.state.requester!, roomId, alias);
      ctx.body = { room_id: roomId };
    },

    async join(ctx: Ctx) {
      const body = parseBody(reasonBody, ctx.state.body);
      const target = ctx.params.roomIdOrAlias ?? ctx.params.roomId;
      if (!target.startsWith('!') && !target.startsWith('#')) throw errors.invalidParam('Not a room id or alias.');
      const roomId = target.startsWith('#') ? (await s.directory.resolve(target)).room_id : target;
      ctx.body = { room_id: await s.rooms.join(ctx.state.requester!, roomId, body.reason) };
    },

    async knock(ctx: Ctx) {
      const body = parseBody(reasonBody, ctx.state.body);
      const target = ctx.params.roomIdOrAlias;
      if (!target.startsWith('!') && !target.startsWith('#')) throw errors.invalidParam('Not a room id or alias.');
      const roomId = target.startsWith('#') ? (await s.directory.resolve(target)).room_id : target;
      ctx.body = { room_id: await s.rooms.knock(ctx.state.requester!, roomId, body.reason) };
    },

    invite: targeted((r, roomId, userId, reason) => s.rooms.invite(r, roomId, userId, reason)),

    async leave(ctx: Ctx) {
      const body = parseBody(reasonBody, ctx.state.body);
      await s.rooms.leave(ctx.state.requester!, ctx.params.roomId, body.reason);
      ctx.body = {};
    },

    kick: targeted((r, roomId, userId, reason) => s.rooms.kick(r, roomId, userId, reason)),
    ban: targeted((r, roomId, userId, reason) => s.rooms.ban(r, roomId, userId, reason)),
    unban: targeted((r, roomId, userId, reason) => s.rooms.unban(r, roomId, userId, reason)),

    async forget(ctx: Ctx) {
      await s.rooms.forget(ctx.state.requester!, ctx.params.roomId);
      ctx.body = {};
    },

    async context(ctx: Ctx) {
      const q = parseQuery(contextQuery, ctx.query);
      ctx.body = await s.history.context(ctx.state.requester!, ctx.params.roomId, ctx.params.eventId, { limit: q.limit ?? 10, filter: q.filter });
    },

    async joinedRooms(ctx: Ctx) {
      ctx.body = { joined_rooms: await s.rooms.joinedRooms(ctx.state.requester!.userId) };
    },

    async send(ctx: Ctx) {
      const content = parseBody(jsonObject, ctx.state.body);
      const { roomId, eventType, txnId } = ctx.params;
      checkType(eventType);
      if (eventType === 'm.room.redaction') throw errors.invalidParam('Use the /redact endpoint to redact events.');
      ctx.body = { event_id: await s.rooms.send(ctx.state.requester!, roomId, eventType, content, txnId) };
      // Sending is activity (presence); best effort, the message is already stored.
      s.presence.active(ctx.state.requester!.userId).catch(() => {});
    },

    async putState(ctx: Ctx) {
      const content = parseBody(jsonObject, ctx.state.body);
      const { roomId, eventType } = ctx.params;
      checkType(eventType);
      const stateKey = ctx.params.stateKey ?? '';
      if (stateKey.length > 255) throw errors.invalidParam('state_key is too long.');
      ctx.body = { event_id: await s.rooms.setState(ctx.state.requester!, roomId, eventType, stateKey, content) };
    },

    async getState(ctx: Ctx) {
      ctx.body = await s.rooms.state(ctx.state.requester!, ctx.params.roomId);
    },

    async getStateEvent(ctx: Ctx) {
      ctx.body = await s.rooms.stateEvent(ctx.state.requester!, ctx.params.roomId, ctx.params.eventType, ctx.params.stateKey ?? '');
    },

    async redact(ctx: Ctx) {
      const body = parseBody(redactBody, ctx.state.body);
      ctx.body = { event_id: await s.rooms.redact(ctx.state.requester!, ctx.params.roomId, ctx.params.eventId, ctx.params.txnId, body.reason) };
    },

    async event(ctx: Ctx) {
      ctx.body = await s.rooms.event(ctx.state.requester!, ctx.params.roomId, ctx.params.eventId);
    },

    async messages(ctx: Ctx) {
      const q = parseQuery(messagesQuery, ctx.query);
      ctx.body = await s.history.messages(ctx.state.requester!, ctx.params.roomId, {
        from: q.from !== undefined ? decodePaginationToken(q.from) : undefined,
        to: q.to !== undefined ? decodePaginationToken(q.to) : undefined,
        dir: q.dir ?? 'b',
        limit: q.limit ?? 10,
        filter: q.filter,
      });
    },

    async members(ctx: Ctx) {
      const q = parseQuery(membersQuery, ctx.query);
      const chunk = await s.rooms.members(ctx.state.requester!, ctx.params.roomId, {
        atPosition: q.at !== undefined ? decodePaginationToken(q.at) : undefined,
        membership: q.membership,
        notMembership: q.not_membership,
      });
      ctx.body = { chunk };
    },

    async joinedMembers(ctx: Ctx) {
      const members = await s.rooms.members(ctx.state.requester!, ctx.params.roomId, { membership: 'join' });
      ctx.body = {
        joined: Object.fromEntries(members.map((m) => [m.state_key, { display_name: m.content.displayname ?? null, avatar_url: m.content.avatar_url ?? null }])),
      };
    },
  };
}

function checkType(type: string): void {
  if (type.length === 0 || type.length > 255) throw errors.invalidParam('Event type must be 1-255 characters.');
}

const relationsQuery = z.object({
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  dir: z.enum(['b', 'f']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  recurse: z.enum(['true', 'false']).optional(),
});
const threadsQuery = z.object({
  include: z.enum(['all', 'participated']).optional(),
  from: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export function relationHandlers(s: Services) {
  return {
    async relations(ctx: Ctx) {
      const q = parseQuery(relationsQuery, ctx.query);
      ctx.body = await s.relations.list(ctx.state.requester!, ctx.params.roomId, ctx.params.eventId, {
        relType: ctx.params.relType,
        eventType: ctx.params.eventType,
        from: q.from !== undefined ? decodePaginationToken(q.from) : undefined,
        to: q.to !== undefined ? decodePaginationToken(q.to) : undefined,
        dir: q.dir ?? 'b',
        limit: q.limit ?? 50,
      });
    },

    async threads(ctx: Ctx) {
      const q = parseQuery(threadsQuery, ctx.query);
      ctx.body = await s.relations.threads(ctx.state.requester!, ctx.params.roomId, {
        participatedOnly: q.include === 'participated',
        from: q.from !== undefined ? decodePaginationToken(q.from) : undefined,
        limit: q.limit ?? 50,
      });
    },
  };
}
