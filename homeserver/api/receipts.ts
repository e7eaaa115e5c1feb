/** Spec: receipts, read markers and typing notifications. */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody } from './validate.ts';

const eventId = z.string().min(1).max(255);
const receiptBody = z.object({ thread_id: z.string().min(1).max(255).optional() }).loose();
const markersBody = z.object({ 'm.fully_read': eventId.optional(), 'm.read': eventId.optional(), 'm.read.private': eventId.optional() }).loose();
const typingBody = z.object({ typing: z.boolean(), timeout: z.number().int().min(0).max(24 * 3600 * 1000).optional() });

export function receiptHandlers(s: Services) {
  return {
    async receipt(ctx: Ctx) {
      const body = parseBody(receiptBody, ctx.state.body);
      const { roomId, receiptType, eventId: target } = ctx.params;
      if (receiptType === 'm.fully_read') {
        await s.receipts.setReadMarkers(ctx.state.requester!, roomId, { fullyRead: target });
      } else {
        await s.receipts.send(ctx.state.requester!, roomId, receiptType, target, body.thread_id);
      }
      ctx.body = {};
    },

    async readMarkers(ctx: Ctx) {
      const body = parseBody(markersBody, ctx.state.body);
      await s.receipts.setReadMarkers(ctx.state.requester!, ctx.params.roomId, {
        fullyRead: body['m.fully_read'], read: body['m.read'], readPrivate: body['m.read.private'],
      });
      ctx.body = {};
    },

    async typing(ctx: Ctx) {
      const body = parseBody(typingBody, ctx.state.body);
      if (ctx.params.userId !== ctx.state.requester!.userId) throw errors.forbidden('You can only set your own typing state.');
      await s.typing.setTyping(ctx.state.requester!.userId, ctx.params.roomId, body.typing, body.timeout);
      ctx.body = {};
    },
  };
}
