/** Spec: push rules (read and change) and the notifications list. */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import {
  deleteUserRule, getRule, parseActionsBody, parseEnabledBody, parseRuleBody, parseRuleKind, putUserRule, setRuleActions, setRuleEnabled,
} from '../services/push/ruleset.ts';
import type { Ctx } from '../http/types.ts';
import { parseQuery } from './validate.ts';

const positionQuery = z.object({ before: z.string().max(255).optional(), after: z.string().max(255).optional() });
const notificationsQuery = z.object({
  from: z.string().regex(/^\d{1,15}$/).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  only: z.enum(['highlight']).optional(),
});

function scope(ctx: Ctx): void {
  if (ctx.params.scope !== 'global') throw errors.notFound('Only the global scope exists.');
}

export function pushHandlers(s: Services) {
  return {
    async all(ctx: Ctx) {
      ctx.body = await s.push.rules(ctx.state.requester!.userId);
    },

    async scope(ctx: Ctx) {
      scope(ctx);
      ctx.body = (await s.push.rules(ctx.state.requester!.userId)).global;
    },

    async getRule(ctx: Ctx) {
      scope(ctx);
      const rules = await s.push.rules(ctx.state.requester!.userId);
      ctx.body = getRule(rules.global, parseRuleKind(ctx.params.kind), ctx.params.ruleId);
    },

    async putRule(ctx: Ctx) {
      scope(ctx);
      const kind = parseRuleKind(ctx.params.kind);
      const position = parseQuery(positionQuery, ctx.query);
      const body = parseRuleBody(kind, ctx.state.body);
      await s.push.change(ctx.state.requester!.userId, (stored) => putUserRule(stored, kind, ctx.params.ruleId, body, position));
      ctx.body = {};
    },

    async deleteRule(ctx: Ctx) {
      scope(ctx);
      const kind = parseRuleKind(ctx.params.kind);
      await s.push.change(ctx.state.requester!.userId, (stored) => deleteUserRule(stored, kind, ctx.params.ruleId));
      ctx.body = {};
    },

    getAttribute(attribute: 'enabled' | 'actions') {
      return async (ctx: Ctx) => {
        scope(ctx);
        const rules = await s.push.rules(ctx.state.requester!.userId);
        const rule = getRule(rules.global, parseRuleKind(ctx.params.kind), ctx.params.ruleId);
        ctx.body = attribute === 'enabled' ? { enabled: rule.enabled } : { actions: rule.actions };
      };
    },

    putAttribute(attribute: 'enabled' | 'actions') {
      return async (ctx: Ctx) => this.setAttribute(ctx, attribute);
    },

    async setAttribute(ctx: Ctx, attribute: 'enabled' | 'actions') {
      scope(ctx);
      const kind = parseRuleKind(ctx.params.kind);
      const { ruleId } = ctx.params;
      if (attribute === 'enabled') {
        const enabled = parseEnabledBody(ctx.state.body);
        await s.push.change(ctx.state.requester!.userId, (stored) => setRuleEnabled(stored, kind, ruleId, enabled));
      } else {
        const actions = parseActionsBody(ctx.state.body);
        await s.push.change(ctx.state.requester!.userId, (stored) => setRuleActions(stored, kind, ruleId, actions));
      }
      ctx.body = {};
    },

    async notifications(ctx: Ctx) {
      const q = parseQuery(notificationsQuery, ctx.query);
      ctx.body = await s.push.notifications(ctx.state.requester!, { from: q.from ? Number(q.from) : undefined, limit: q.limit ?? 20, onlyHighlight: q.only === 'highlight' });
    },
  };
}
