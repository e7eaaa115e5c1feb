/** Spec: room aliases, directory visibility, the public room list. */
import { z } from 'zod';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody, parseQuery, queryBoolean } from './validate.ts';

const aliasBody = z.object({ room_id: z.string().min(1).max(255) });
const visibilityBody = z.object({ visibility: z.enum(['public', 'private']) });
const publicRoomsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional(),
  since: z.string().max(64).optional(),
  server: z.string().max(255).optional(),
});
const hierarchyQuery = z.object({
  from: z.string().max(32).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  max_depth: z.coerce.number().int().min(0).max(1000).optional(),
  suggested_only: queryBoolean.optional(),
});
const publicRoomsBody = z.object({
  limit: z.number().int().min(1).max(500).optional(),
  since: z.string().max(64).optional(),
  filter: z.object({ generic_search_term: z.string().max(256).optional(), room_types: z.array(z.string().nullable()).optional() }).loose().optional(),
  include_all_networks: z.boolean().optional(),
  third_party_instance_id: z.string().optional(),
}).loose();

export function directoryHandlers(s: Services) {
  return {
    async getAlias(ctx: Ctx) {
      s.directory.checkAlias(ctx.params.alias);
      ctx.body = await s.directory.resolve(ctx.params.alias);
    },

    async putAlias(ctx: Ctx) {
      const body = parseBody(aliasBody, ctx.state.body);
      await s.directory.create(ctx.state.requester!, ctx.params.alias, body.room_id);
      ctx.body = {};
    },

    async deleteAlias(ctx: Ctx) {
      await s.directory.remove(ctx.state.requester!, ctx.params.alias);
      ctx.body = {};
    },

    async roomAliases(ctx: Ctx) {
      ctx.body = { aliases: await s.directory.roomAliases(ctx.state.requester!, ctx.params.roomId) };
    },

    async getVisibility(ctx: Ctx) {
      ctx.body = { visibility: await s.directory.visibility(ctx.params.roomId) };
    },

    async putVisibility(ctx: Ctx) {
      const body = parseBody(visibilityBody, ctx.state.body);
      await s.directory.setVisibility(ctx.state.requester!, ctx.params.roomId, body.visibility);
      ctx.body = {};
    },

    async hierarchy(ctx: Ctx) {
      const q = parseQuery(hierarchyQuery, ctx.query);
      ctx.body = await s.hierarchy.hierarchy(ctx.state.requester!.userId, ctx.params.roomId, {
        from: q.from, limit: q.limit, maxDepth: q.max_depth, suggestedOnly: q.suggested_only,
      });
    },

    async publicRoomsGet(ctx: Ctx) {
      const q = parseQuery(publicRoomsQuery, ctx.query);
      ctx.body = await s.directory.publicRooms({ limit: q.limit, since: q.since });
    },

    async publicRoomsPost(ctx: Ctx) {
      const body = parseBody(publicRoomsBody, ctx.state.body);
      ctx.body = await s.directory.publicRooms({ limit: body.limit, since: body.since, search: body.filter?.generic_search_term });
    },
  };
}
