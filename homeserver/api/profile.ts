/** Spec: profiles (display name, avatar). */
import { z } from 'zod';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody } from './validate.ts';
import { errors } from '../errors.ts';

const displaynameBody = z.object({ displayname: z.string().nullable() });
const avatarBody = z.object({ avatar_url: z.string().max(1024).nullable() });

export function profileHandlers(s: Services) {
  return {
    async get(ctx: Ctx) {
      ctx.body = await s.profiles.get(ctx.params.userId);
    },

    getField(field: 'displayname' | 'avatar_url') {
      return async (ctx: Ctx) => {
        const profile = await s.profiles.get(ctx.params.userId);
        if (profile[field] === undefined) throw errors.notFound(`No ${field} set.`);
        ctx.body = { [field]: profile[field] };
      };
    },

    async putDisplayname(ctx: Ctx) {
      const body = parseBody(displaynameBody, ctx.state.body);
      await s.profiles.setDisplayname(ctx.state.requester!.userId, ctx.params.userId, body.displayname);
      ctx.body = {};
    },

    async putAvatarUrl(ctx: Ctx) {
      const body = parseBody(avatarBody, ctx.state.body);
      await s.profiles.setAvatarUrl(ctx.state.requester!.userId, ctx.params.userId, body.avatar_url);
      ctx.body = {};
    },
  };
}
