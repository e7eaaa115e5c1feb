/** Spec: login, refresh, logout, whoami. */
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import type { AuditSource } from '../services/audit.ts';
import type { Ctx } from '../http/types.ts';
import { parseBody } from './validate.ts';

const loginBody = z.object({
  type: z.string(),
  identifier: z.object({ type: z.string(), user: z.string().max(255).optional() }).loose().optional(),
  user: z.string().max(255).optional(),
  password: z.string().max(1024).optional(),
  device_id: z.string().min(1).max(255).optional(),
  initial_device_display_name: z.string().max(256).optional(),
  refresh_token: z.boolean().optional(),
  'org.whisper.totp_code': z.string().max(64).optional(),
  token: z.string().max(255).optional(),
});

/** The identity provider the login page stands for (Element shows its name on the button). */
export const LOGIN_PAGE_IDP = { id: 'whisper', name: 'Whisper login page' };

const refreshBody = z.object({ refresh_token: z.string().max(1024) });

export function seenOf(ctx: Ctx) {
  return { ip: ctx.ip, userAgent: ctx.get('User-Agent') || null };
}

/** Where an authenticated act came from, for its audit entry. */
export function auditSourceOf(ctx: Ctx): AuditSource {
  return { ...seenOf(ctx), deviceId: ctx.state.requester?.deviceId ?? null };
}

export function sessionHandlers(s: Services) {
  return {
    loginFlows(ctx: Ctx) {
      // m.login.sso is the server's own login page, which asks for the second factor too.
      ctx.body = { flows: [{ type: 'm.login.password' }, { type: 'm.login.sso', identity_providers: [LOGIN_PAGE_IDP] }, { type: 'm.login.token' }] };
    },

    async login(ctx: Ctx) {
      const body = parseBody(loginBody, ctx.state.body);
      const device = { deviceId: body.device_id, displayName: body.initial_device_display_name, withRefreshToken: body.refresh_token === true, seen: seenOf(ctx) };
      const answer = (session: object) => ({ ...session, home_server: s.config.serverName, well_known: { 'm.homeserver': { base_url: s.config.publicUrl } } });
      if (body.type === 'm.login.token') {
        if (body.token === undefined) throw errors.missingParam('Missing field: token');
        ctx.body = answer(await s.login.tokenLogin({ ...device, token: body.token }));
        return;
      }
      if (body.type !== 'm.login.password') {
        throw errors.unknownLoginType(body.type);
      }
      let user: string | undefined;
      if (body.identifier) {
        if (body.identifier.type !== 'm.id.user') {
          throw errors.invalidParam(`Identifier type ${body.identifier.type} is not supported; use m.id.user.`);
        }
        user = body.identifier.user;
      } else {
        user = body.user;
      }
      if (user === undefined) throw errors.missingParam('Missing field: identifier.user');
      if (body.password === undefined) throw errors.missingParam('Missing field: password');
      ctx.body = answer(await s.login.passwordLogin({ ...device, user, password: body.password, totpCode: body['org.whisper.totp_code'] }));
    },

    async refresh(ctx: Ctx) {
      const body = parseBody(refreshBody, ctx.state.body);
      await s.rateLimits.consume('refreshPerIp', ctx.ip);
      const result = await s.sessions.refresh(body.refresh_token, seenOf(ctx));
      if (result.outcome === 'reused') throw errors.unknownToken(false);
      const { refresh_token, access_token, expires_in_ms } = result.session;
      ctx.body = { access_token, refresh_token, expires_in_ms };
    },

    async logout(ctx: Ctx) {
      await s.sessions.logout(ctx.state.requester!, auditSourceOf(ctx));
      ctx.body = {};
    },

    async logoutAll(ctx: Ctx) {
      await s.sessions.logoutAll(ctx.state.requester!.userId, undefined, auditSourceOf(ctx));
      ctx.body = {};
    },

    whoami(ctx: Ctx) {
      const r = ctx.state.requester!;
      ctx.body = { user_id: r.userId, device_id: r.deviceId, is_guest: false };
    },
  };
}
