/** Spec: server-side search (room events). */
import { z } from 'zod';
import type { Services } from '../services/index.ts';
import { roomEventFilterSchema } from '../services/sync/filter.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody, parseQuery } from './validate.ts';

const searchBody = z.object({
  search_categories: z.object({
    room_events: z.object({
      search_term: z.string().min(1).max(1024),
      keys: z.array(z.enum(['content.body', 'content.name', 'content.topic'])).optional(),
      filter: roomEventFilterSchema.optional(),
      order_by: z.enum(['recent', 'rank']).optional(),
      event_context: z.object({
        before_limit: z.number().int().min(0).max(20).optional(),
        after_limit: z.number().int().min(0).max(20).optional(),
        include_profile: z.boolean().optional(),
      }).optional(),
      include_state: z.boolean().optional(),
      groupings: z.unknown().optional(),
    }),
  }),
});
const searchQuery = z.object({ next_batch: z.string().max(64).optional() });

export function searchHandlers(s: Services) {
  return {
    async search(ctx: Ctx) {
      const body = parseBody(searchBody, ctx.state.body);
      const { next_batch } = parseQuery(searchQuery, ctx.query);
      const r = body.search_categories.room_events;
      ctx.body = await s.search.search(ctx.state.requester!, {
        term: r.search_term,
        filter: r.filter,
        order: r.order_by ?? 'rank',
        context: r.event_context ? { before: r.event_context.before_limit ?? 5, after: r.event_context.after_limit ?? 5 } : undefined,
        nextBatch: next_batch,
      });
    },
  };
}
