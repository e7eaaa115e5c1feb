/** Spec: /sync (long-polling) and filters. */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import { decodeSyncToken } from '../services/sync/tokens.ts';
import type { Ctx } from '../http/types.ts';
import { parseQuery, queryBoolean } from './validate.ts';

/** A long-poll never waits longer than this, whatever the client asks. */
const MAX_TIMEOUT_MS = 60_000;

const syncQuery = z.object({
  since: z.string().max(256).optional(),
  timeout: z.coerce.number().int().min(0).optional(),
  full_state: queryBoolean.optional(),
  set_presence: z.enum(['online', 'offline', 'unavailable']).optional(),
  filter: z.string().max(16_384).optional(),
  use_state_after: queryBoolean.optional(),
});

export function syncHandlers(s: Services) {
  return {
    async sync(ctx: Ctx) {
      const q = parseQuery(syncQuery, ctx.query);
      const requester = ctx.state.requester!;
      const filter = await s.filters.resolve(requester.userId, q.filter);
      const aborted = new AbortController();
      const onClose = () => aborted.abort();
      ctx.req.once('close', onClose);
      // Chained rather than awaited: while the poll waits, this handler keeps no suspended frame.
      return s.sync
        .sync(requester, {
          since: q.since ? decodeSyncToken(q.since) : undefined,
          timeoutMs: Math.min(q.timeout ?? 0, MAX_TIMEOUT_MS),
          fullState: q.full_state ?? false,
          filter,
          setPresence: q.set_presence,
          signal: aborted.signal,
        })
        .then((body) => {
          ctx.body = body;
        })
        .finally(() => ctx.req.off('close', onClose));
    },

    async createFilter(ctx: Ctx) {
      const requester = ctx.state.requester!;
      if (ctx.params.userId !== requester.userId) throw errors.forbidden('You can only create filters for yourself.');
      ctx.body = { filter_id: await s.filters.create(requester.userId, ctx.state.body) };
    },

    async getFilter(ctx: Ctx) {
      const requester = ctx.state.requester!;
      if (ctx.params.userId !== requester.userId) throw errors.forbidden('You can only read your own filters.');
      ctx.body = await s.filters.get(requester.userId, ctx.params.filterId);
    },
  };
}
