/**
 * Spec: email addresses on the account (3PID): request a validation mail, add, list and remove
 * addresses, and the mail's link page. The password reset's own mail request lives here too;
 * the reset itself is POST /account/password with UIA m.login.email.identity (account.ts).
 */
import escapeHtml from 'escape-html';
import { z } from 'zod';
import type { Ctx } from '../http/types.ts';
import type { EmailPurpose } from '../services/email.ts';
import type { Services } from '../services/index.ts';
import { auditSourceOf } from './session.ts';
import { authField, parseBody, parseQuery } from './validate.ts';

/** Spec grammar of client_secret and sid. */
const opaque = z.string().min(1).max(255).regex(/^[0-9a-zA-Z.=_-]+$/, 'may hold only 0-9 a-z A-Z . = _ -');
const requestTokenBody = z.object({
  client_secret: opaque,
  email: z.email().max(320),
  send_attempt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  next_link: z.string().max(2048).optional(),
}).loose();
const addBody = z.object({ auth: authField, client_secret: opaque, sid: opaque });
const deleteBody = z.object({ medium: z.enum(['email', 'msisdn']), address: z.string().max(320) }).loose();
const validateQuery = z.object({ sid: opaque, client_secret: opaque, token: z.string().max(255) });

function page(ctx: Ctx, status: number, title: string, text: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{margin:0;min-height:100vh;display:grid;place-items:center;background:#1e1f22;color:#dbdee1;font:16px/1.5 system-ui,sans-serif}main{background:#2b2d31;padding:2rem;border-radius:8px;width:min(26rem,90vw)}h1{font-size:1.3rem;margin-top:0}</style>
</head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main></body></html>`;
}

export function emailHandlers(s: Services) {
  const requestToken = (purpose: EmailPurpose) => async (ctx: Ctx) => {
    const body = parseBody(requestTokenBody, ctx.state.body);
    ctx.body = await s.emails.requestToken(purpose, { email: body.email, clientSecret: body.client_secret, sendAttempt: body.send_attempt }, ctx.ip);
  };

  return {
    requestAddToken: requestToken('add'),
    requestResetToken: requestToken('reset'),

    async list(ctx: Ctx) {
      ctx.body = { threepids: await s.emails.list(ctx.state.requester!.userId) };
    },

    async add(ctx: Ctx) {
      const requester = ctx.state.requester!;
      const body = parseBody(addBody, ctx.state.body);
      const done = await s.uia.authenticate({
        purpose: 'add_threepid', userId: requester.userId, auth: body.auth, flows: [['m.login.password']], source: auditSourceOf(ctx),
      });
      await s.emails.add(requester.userId, body.sid, body.client_secret, auditSourceOf(ctx));
      await s.uia.finish(done.sessionId);
      ctx.body = {};
    },

    async remove(ctx: Ctx) {
      const body = parseBody(deleteBody, ctx.state.body);
      await s.emails.remove(ctx.state.requester!.userId, body.medium, body.address, auditSourceOf(ctx));
      ctx.body = { id_server_unbind_result: 'no-support' };
    },

    /** The link in the mail (opened in a browser). */
    async validate(ctx: Ctx) {
      const q = validateQuery.safeParse(ctx.query);
      const purpose = q.success ? await s.emails.validate(q.data.sid, q.data.client_secret, q.data.token) : undefined;
      if (!purpose) {
        page(ctx, 400, 'This link does not work', 'It may have expired (links last an hour) or been copied incompletely. Ask the app for a new mail.');
        return;
      }
      page(ctx, 200, 'Email address confirmed', purpose === 'add'
        ? 'Return to the app to finish adding this address to your account.'
        : 'Return to the app and choose your new password there. Every signed-in device will be signed out.');
    },
  };
}
