/**
 * Whisper's friends API (/_whisper/client/v1): friends and requests, blocks, privacy, and the
 * friend notifications feed. Errors a client can act on:
 * - a request to yourself, to someone already a friend or already asked, or to someone you
 *   blocked: 400 M_INVALID_PARAM (the message says which);
 * - an unknown user, or no such request/friend/block: 404 M_NOT_FOUND.
 */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody, parseQuery } from './validate.ts';

const userField = z.string().min(1).max(255);
const requestBody = z.object({ user_id: userField.optional(), username: userField.optional() });
const audience = z.enum(['friends', 'everyone']);
const privacyBody = z.object({ dm_from: audience.optional(), group_invites_from: audience.optional() });
const readBody = z.object({ up_to: z.string().regex(/^\d{1,15}$/, 'a notification id').optional(), all: z.literal(true).optional() });
const notificationsQuery = z.object({
  from: z.string().regex(/^\d{1,15}$/, 'a next_batch token').optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'a number').optional(),
});

export function friendHandlers(s: Services) {
  const me = (ctx: Ctx) => ctx.state.requester!;
  /** The user named in the path, who must exist. */
  const pathUser = (ctx: Ctx) => s.friends.resolveUser(ctx.params.userId);

  return {
    async list(ctx: Ctx) {
      ctx.body = await s.friends.list(me(ctx).userId);
    },

    async request(ctx: Ctx) {
      const body = parseBody(requestBody, ctx.state.body);
      const named = body.user_id ?? body.username;
      if (named === undefined) throw errors.missingParam('Missing field: user_id or username');
      const target = await s.friends.resolveUser(named);
      ctx.body = await s.friends.request(me(ctx), target);
    },

    async accept(ctx: Ctx) {
      const from = await pathUser(ctx);
      const roomId = await s.friends.accept(me(ctx), from);
      ctx.body = { user_id: from, room_id: roomId, state: 'accepted' };
    },

    async decline(ctx: Ctx) {
      await s.friends.decline(me(ctx), await pathUser(ctx));
      ctx.body = {};
    },

    async cancel(ctx: Ctx) {
      await s.friends.cancel(me(ctx), await pathUser(ctx));
      ctx.body = {};
    },

    async remove(ctx: Ctx) {
      await s.friends.remove(me(ctx), await pathUser(ctx));
      ctx.body = {};
    },

    async blocks(ctx: Ctx) {
      ctx.body = await s.blocks.list(me(ctx).userId);
    },

    async block(ctx: Ctx) {
      await s.blocks.block(me(ctx), await pathUser(ctx));
      ctx.body = {};
    },

    async unblock(ctx: Ctx) {
      await s.blocks.unblock(me(ctx), await pathUser(ctx));
      ctx.body = {};
    },

    async privacy(ctx: Ctx) {
      ctx.body = await s.blocks.privacy(me(ctx).userId);
    },

    async setPrivacy(ctx: Ctx) {
      const body = parseBody(privacyBody, ctx.state.body);
      ctx.body = await s.blocks.setPrivacy(me(ctx).userId, body);
    },

    async notifications(ctx: Ctx) {
      const q = parseQuery(notificationsQuery, ctx.query);
      ctx.body = await s.friends.notifications(me(ctx).userId, {
        from: q.from === undefined ? undefined : Number(q.from),
        limit: q.limit === undefined ? undefined : Number(q.limit),
      });
    },

    async markRead(ctx: Ctx) {
      const body = parseBody(readBody, ctx.state.body);
      if (body.all) await s.friends.markRead(me(ctx).userId, 'all');
      else if (body.up_to !== undefined) await s.friends.markRead(me(ctx).userId, Number(body.up_to));
      else throw errors.missingParam('Missing field: up_to or all');
      ctx.body = {};
    },
  };
}
