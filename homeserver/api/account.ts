/** Spec: registration, username availability, registration tokens, password, deactivation. */
import { z } from 'zod';
import { MatrixError, errors } from '../errors.ts';
import type { Services } from '../services/index.ts';
import type { Ctx } from '../http/types.ts';
import { auditSourceOf, seenOf } from './session.ts';
import { authField, parseBody, parseQuery } from './validate.ts';


const registerBody = z.object({
  username: z.string().max(255).optional(),
  password: z.string().max(1024).optional(),
  device_id: z.string().min(1).max(255).optional(),
  initial_device_display_name: z.string().max(256).optional(),
  inhibit_login: z.boolean().optional(),
  refresh_token: z.boolean().optional(),
  auth: authField,
});

const registerQuery = z.object({ kind: z.enum(['user', 'guest']).optional() });
const availableQuery = z.object({ username: z.string().max(255) });
const tokenValidityQuery = z.object({ token: z.string().max(255) });

const passwordBody = z.object({
  new_password: z.string().max(1024),
  logout_devices: z.boolean().optional(),
  auth: authField,
});

const deactivateBody = z.object({
  auth: authField,
  id_server: z.string().optional(),
  erase: z.boolean().optional(),
});

export function accountHandlers(s: Services) {
  return {
    async register(ctx: Ctx) {
      const { kind } = parseQuery(registerQuery, ctx.query);
      if (kind === 'guest') {
        throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest access is not available on this server.');
      }
      const body = parseBody(registerBody, ctx.state.body);
      await s.rateLimits.consume('registerPerIp', ctx.ip);
      const result = await s.accounts.register({
        username: body.username,
        password: body.password,
        deviceId: body.device_id,
        displayName: body.initial_device_display_name,
        inhibitLogin: body.inhibit_login === true,
        withRefreshToken: body.refresh_token === true,
        auth: body.auth,
        seen: seenOf(ctx),
      });
      ctx.body = { ...result, home_server: s.config.serverName };
    },

    async available(ctx: Ctx) {
      const { username } = parseQuery(availableQuery, ctx.query);
      await s.rateLimits.consume('lookupPerIp', ctx.ip);
      await s.accounts.checkAvailable(username);
      ctx.body = { available: true };
    },

    async registrationTokenValidity(ctx: Ctx) {
      const { token } = parseQuery(tokenValidityQuery, ctx.query);
      if (s.config.registration !== 'invite') {
        throw errors.forbidden('This server does not use registration tokens.');
      }
      await s.rateLimits.consume('lookupPerIp', ctx.ip);
      ctx.body = { valid: await s.registrationTokens.isValid(token) };
    },

    async changePassword(ctx: Ctx) {
      const requester = ctx.state.requester;
      const body = parseBody(passwordBody, ctx.state.body);
      s.accounts.checkPasswordPolicy(body.new_password);
      if (!requester) {
        // Spec: a signed-out client resets the password by proving it reads the account's email.
        const done = await s.uia.authenticate({
          purpose: 'reset_password', auth: body.auth, flows: [['m.login.email.identity']], source: seenOf(ctx),
        });
        await s.accounts.changePassword(done.userId!, null, body.new_password, body.logout_devices !== false, seenOf(ctx), 'reset');
        await s.emails.endResets(done.userId!);
        await s.uia.finish(done.sessionId);
        ctx.body = {};
        return;
      }
      const done = await s.uia.authenticate({
        purpose: 'change_password', userId: requester.userId, auth: body.auth, flows: [['m.login.password']], source: auditSourceOf(ctx),
      });
      await s.accounts.changePassword(requester.userId, requester.deviceId, body.new_password, body.logout_devices !== false, auditSourceOf(ctx));
      await s.uia.finish(done.sessionId);
      ctx.body = {};
    },

    async deactivate(ctx: Ctx) {
      const requester = ctx.state.requester!;
      const body = parseBody(deactivateBody, ctx.state.body);
      const done = await s.uia.authenticate({
        purpose: 'deactivate', userId: requester.userId, auth: body.auth, flows: [['m.login.password']], source: auditSourceOf(ctx),
      });
      await s.accounts.deactivate(requester.userId, auditSourceOf(ctx));
      await s.uia.finish(done.sessionId);
      ctx.body = { id_server_unbind_result: 'no-support' };
    },
  };
}
