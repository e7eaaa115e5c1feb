/** Spec: presence (/presence/{userId}/status) and the user directory search. */
import { z } from 'zod';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody } from './validate.ts';

const statusBody = z.object({
  presence: z.enum(['online', 'offline', 'unavailable']),
  status_msg: z.string().max(4096).nullable().optional(),
});
const searchBody = z.object({
  search_term: z.string().max(256),
  limit: z.number().int().min(0).max(1000).optional(),
});

export function presenceHandlers(s: Services) {
  return {
    async getStatus(ctx: Ctx) {
      ctx.body = await s.presence.getStatus(ctx.state.requester!.userId, ctx.params.userId);
    },

    async putStatus(ctx: Ctx) {
      const body = parseBody(statusBody, ctx.state.body);
      await s.presence.setStatus(ctx.state.requester!.userId, ctx.params.userId, body.presence, body.status_msg ?? undefined);
      ctx.body = {};
    },

    async searchUsers(ctx: Ctx) {
      const body = parseBody(searchBody, ctx.state.body);
      ctx.body = await s.userDirectory.search(ctx.state.requester!.userId, body.search_term, body.limit);
    },
  };
}
