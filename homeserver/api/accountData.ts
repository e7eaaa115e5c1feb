/** Spec: client config (account data), global and per room. */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody } from './validate.ts';

const content = z.record(z.string(), z.unknown());
const tagBody = z.object({ order: z.number().min(0).max(1).optional() }).loose();

function ownUser(ctx: Ctx): string {
  const userId = ctx.state.requester!.userId;
  if (ctx.params.userId !== userId) throw errors.forbidden("You cannot read or change another user's account data.");
  return userId;
}

export function accountDataHandlers(s: Services) {
  return {
    async put(ctx: Ctx) {
      const userId = ownUser(ctx);
      const body = parseBody(content, ctx.state.body);
      const roomId = ctx.params.roomId ?? '';
      if (roomId) await s.rooms.requireRoom(roomId);
      await s.accountData.putFromClient(userId, roomId, ctx.params.type, body);
      ctx.body = {};
    },

    async get(ctx: Ctx) {
      const userId = ownUser(ctx);
      if (ctx.params.type === 'm.push_rules' && !ctx.params.roomId) {
        ctx.body = await s.push.rules(userId);
        return;
      }
      ctx.body = await s.accountData.get(userId, ctx.params.roomId ?? '', ctx.params.type);
    },

    async tags(ctx: Ctx) {
      const userId = ownUser(ctx);
      ctx.body = { tags: await s.accountData.tagsIn(userId, ctx.params.roomId) };
    },

    async putTag(ctx: Ctx) {
      const userId = ownUser(ctx);
      const body = parseBody(tagBody, ctx.state.body);
      await s.rooms.requireRoom(ctx.params.roomId);
      await s.accountData.changeTag(userId, ctx.params.roomId, ctx.params.tag, body);
      ctx.body = {};
    },

    async deleteTag(ctx: Ctx) {
      const userId = ownUser(ctx);
      await s.accountData.changeTag(userId, ctx.params.roomId, ctx.params.tag, null);
      ctx.body = {};
    },
  };
}
