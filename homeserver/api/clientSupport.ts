/** Spec: VoIP TURN credentials, pushers, third-party protocols, 3PIDs — the start-up calls. */
import { z } from 'zod';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody } from './validate.ts';

const pusherBody = z.object({
  app_id: z.string().min(1).max(64),
  pushkey: z.string().min(1).max(512),
  kind: z.enum(['http', 'email']).nullable(),
  app_display_name: z.string().max(256).optional(),
  device_display_name: z.string().max(256).optional(),
  profile_tag: z.string().max(256).optional(),
  lang: z.string().max(64).optional(),
  data: z.object({ url: z.url().optional(), format: z.string().max(64).optional() }).loose().optional(),
  append: z.boolean().optional(),
}).loose().refine((p) => p.kind === null || (p.app_display_name && p.device_display_name && p.lang && p.data), {
  message: 'app_display_name, device_display_name, lang and data are required unless kind is null',
});

export function clientSupportHandlers(s: Services) {
  return {
    turnServer(ctx: Ctx) {
      ctx.body = s.clientSupport.turnServer(ctx.state.requester!.userId);
    },

    async pushers(ctx: Ctx) {
      ctx.body = { pushers: await s.clientSupport.listPushers(ctx.state.requester!.userId) };
    },

    async setPusher(ctx: Ctx) {
      const body = parseBody(pusherBody, ctx.state.body);
      await s.clientSupport.setPusher(ctx.state.requester!.userId, body);
      ctx.body = {};
    },

    thirdPartyProtocols(ctx: Ctx) {
      ctx.body = {};
    },
  };
}
