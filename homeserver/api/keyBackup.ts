/** Spec: server-side key backup — versions, and room keys at the all / room / session levels. */
import { z } from 'zod';
import type { Services } from '../services/index.ts';
import type { RoomKey } from '../services/e2ee/keyBackup.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody, parseQuery } from './validate.ts';

const json = z.record(z.string(), z.unknown());
const createBody = z.object({ algorithm: z.string().min(1).max(255), auth_data: json });
const updateBody = createBody.extend({ version: z.string().max(32).optional() });
const versionQuery = z.object({ version: z.string().max(32) });
const roomKey = z.object({
  first_message_index: z.number().int().min(0).max(2 ** 31 - 1),
  forwarded_count: z.number().int().min(0).max(2 ** 31 - 1),
  is_verified: z.boolean(),
  session_data: json,
});
const sessionsBody = z.object({ sessions: z.record(z.string().max(255), roomKey) });
const roomsBody = z.object({ rooms: z.record(z.string().max(255), sessionsBody) });

type Level = 'all' | 'room' | 'session';

function keyJson(k: RoomKey): RoomKey {
  return { first_message_index: k.first_message_index, forwarded_count: k.forwarded_count, is_verified: k.is_verified, session_data: k.session_data };
}

export function keyBackupHandlers(s: Services) {
  const user = (ctx: Ctx) => ctx.state.requester!.userId;
  const version = (ctx: Ctx) => parseQuery(versionQuery, ctx.query).version;

  /** The request body at each level, lifted to the all-rooms shape. */
  const rooms = (ctx: Ctx, level: Level) => {
    const { roomId, sessionId } = ctx.params;
    if (level === 'all') return parseBody(roomsBody, ctx.state.body).rooms;
    if (level === 'room') return { [roomId]: parseBody(sessionsBody, ctx.state.body) };
    return { [roomId]: { sessions: { [sessionId]: parseBody(roomKey, ctx.state.body) } } };
  };

  return {
    async createVersion(ctx: Ctx) {
      const body = parseBody(createBody, ctx.state.body);
      ctx.body = { version: await s.keyBackup.createVersion(user(ctx), body.algorithm, body.auth_data) };
    },

    async getVersion(ctx: Ctx) {
      ctx.body = await s.keyBackup.info(user(ctx), ctx.params.version);
    },

    async updateVersion(ctx: Ctx) {
      await s.keyBackup.updateVersion(user(ctx), ctx.params.version, parseBody(updateBody, ctx.state.body));
      ctx.body = {};
    },

    async deleteVersion(ctx: Ctx) {
      await s.keyBackup.deleteVersion(user(ctx), ctx.params.version);
      ctx.body = {};
    },

    putKeys: (level: Level) => async (ctx: Ctx) => {
      const v = version(ctx);
      ctx.body = await s.keyBackup.putKeys(user(ctx), v, rooms(ctx, level));
    },

    getKeys: (level: Level) => async (ctx: Ctx) => {
      const { roomId, sessionId } = ctx.params;
      const keys = await s.keyBackup.getKeys(user(ctx), version(ctx), roomId, sessionId);
      if (level === 'session') {
        ctx.body = keyJson(keys[0]);
        return;
      }
      const out: Record<string, { sessions: Record<string, RoomKey> }> = {};
      for (const k of keys) (out[k.room_id] ??= { sessions: {} }).sessions[k.session_id] = keyJson(k);
      ctx.body = level === 'all' ? { rooms: out } : (out[roomId] ?? { sessions: {} });
    },

    async deleteKeys(ctx: Ctx) {
      const { roomId, sessionId } = ctx.params;
      ctx.body = await s.keyBackup.deleteKeys(user(ctx), version(ctx), roomId, sessionId);
    },
  };
}
