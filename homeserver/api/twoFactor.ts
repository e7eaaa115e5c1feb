/**
 * Whisper: two-factor authentication (TOTP). Turning it on is two calls (a secret for the
 * authenticator app, behind the password; then a first code, which returns the recovery
 * codes); turning it off and new recovery codes go through UIA, which then asks for the code.
 */
import { z } from 'zod';
import type { Ctx } from '../http/types.ts';
import type { Services } from '../services/index.ts';
import { auditSourceOf } from './session.ts';
import { authField, parseBody } from './validate.ts';

const authOnly = z.object({ auth: authField });
const confirmBody = z.object({ code: z.string().min(1).max(64) });

export function twoFactorHandlers(s: Services) {
  /** UIA for the requester (password, plus the second factor once it is on). */
  async function proven(ctx: Ctx): Promise<() => Promise<void>> {
    const requester = ctx.state.requester!;
    const body = parseBody(authOnly, ctx.state.body);
    const done = await s.uia.authenticate({
      purpose: 'two_factor', userId: requester.userId, auth: body.auth, flows: [['m.login.password']], source: auditSourceOf(ctx),
    });
    return () => s.uia.finish(done.sessionId);
  }

  return {
    async status(ctx: Ctx) {
      ctx.body = await s.twoFactor.status(ctx.state.requester!.userId);
    },

    async enrol(ctx: Ctx) {
      const finish = await proven(ctx);
      ctx.body = await s.twoFactor.enrol(ctx.state.requester!.userId);
      await finish();
    },

    async confirm(ctx: Ctx) {
      const { code } = parseBody(confirmBody, ctx.state.body);
      ctx.body = await s.twoFactor.confirm(ctx.state.requester!.userId, code, auditSourceOf(ctx));
    },

    async recoveryCodes(ctx: Ctx) {
      const finish = await proven(ctx);
      ctx.body = await s.twoFactor.regenerateRecoveryCodes(ctx.state.requester!.userId, auditSourceOf(ctx));
      await finish();
    },

    async disable(ctx: Ctx) {
      const finish = await proven(ctx);
      await s.twoFactor.disable(ctx.state.requester!.userId, auditSourceOf(ctx));
      await finish();
      ctx.body = {};
    },
  };
}
