/**
 * The homeserver's own login page: the spec's single sign-on flow, with this server as the
 * identity provider. Apps that know no second-factor step (Element, nheko …) send the user
 * here (`/login/sso/redirect`); the page asks for name, password and, when the account has it,
 * the two-factor code, then sends the browser back to the app with a one-time `loginToken`
 * that the app exchanges through `m.login.token`.
 *
 * The form carries a random value that must match a cookie set with it (double submit), so
 * another site cannot post credentials into it; the page names where it will send the user,
 * so a link that would hand the token to a stranger's site is seen before a password is typed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import escapeHtml from 'escape-html';
import { z } from 'zod';
import { MatrixError } from '../errors.ts';
import type { Ctx } from '../http/types.ts';
import type { Services } from '../services/index.ts';
import { TOTP_REQUIRED } from '../services/login.ts';
import { seenOf } from './session.ts';
import { parseQuery } from './validate.ts';

export const LOGIN_PAGE_PATH = '/_whisper/login';
const CSRF_COOKIE = 'whisper_login_csrf';
const BLOCKED_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:']);

const redirectQuery = z.object({ redirectUrl: z.string().min(1).max(2048) });
const pageQuery = z.object({ redirect_url: z.string().min(1).max(2048) });
const formBody = z.object({
  username: z.string().max(255).default(''),
  password: z.string().max(1024).default(''),
  code: z.string().max(64).default(''),
  redirect_url: z.string().max(2048).default(''),
  csrf: z.string().max(128).default(''),
});

interface PageState {
  redirect: URL;
  csrf: string;
  username?: string;
  error?: string;
  askCode?: boolean;
}

/** Where the app wants its token: any absolute URL but the kinds that run code in the page. */
function appUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'redirectUrl must be an absolute URL.');
  }
  if (BLOCKED_SCHEMES.has(url.protocol)) throw new MatrixError(400, 'M_INVALID_PARAM', 'redirectUrl cannot be of that kind.');
  return url;
}

/** How the page names the app's address to the user. */
function destination(url: URL): string {
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : `${url.protocol}//${url.host}`;
}

function render(ctx: Ctx, s: Services, page: PageState, status = 200): void {
  const esc = escapeHtml;
  const target = page.redirect.protocol === 'http:' || page.redirect.protocol === 'https:' ? page.redirect.origin : page.redirect.protocol;
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Frame-Options', 'DENY');
  // form-action also governs where the post may redirect: our page and the app, nothing else.
  ctx.set('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${target}; frame-ancestors 'none'; base-uri 'none'`);
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to ${esc(s.config.serverName)}</title>
<style>
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#1e1f22;color:#dbdee1;font:16px/1.4 system-ui,sans-serif}
main{background:#2b2d31;padding:2rem;border-radius:8px;width:min(24rem,90vw)}
h1{font-size:1.3rem;margin:0 0 .5rem}p{color:#b5bac1;font-size:.9rem}
label{display:block;margin:.8rem 0 .3rem;font-size:.8rem;text-transform:uppercase;color:#b5bac1}
input{box-sizing:border-box;width:100%;padding:.6rem;border:0;border-radius:4px;background:#1e1f22;color:#fff;font-size:1rem}
button{margin-top:1.2rem;width:100%;padding:.7rem;border:0;border-radius:4px;background:#5865f2;color:#fff;font-size:1rem;cursor:pointer}
.error{background:#3b1c1f;color:#fa777c;padding:.6rem;border-radius:4px}.dest{color:#fff;font-weight:600}
</style></head><body><main>
<h1>Sign in to ${esc(s.config.serverName)}</h1>
<p>An app at <span class="dest">${esc(destination(page.redirect))}</span> asked to sign you in. Continue only if you opened this page from that app.</p>
${page.error ? `<p class="error" role="alert">${esc(page.error)}</p>` : ''}
<form method="post" action="${LOGIN_PAGE_PATH}">
<input type="hidden" name="redirect_url" value="${esc(page.redirect.href)}">
<input type="hidden" name="csrf" value="${esc(page.csrf)}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="${esc(page.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="code">Two-factor code${page.askCode ? '' : ' (if you use one)'}</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"${page.askCode ? ' required autofocus' : ''}>
<button type="submit">Sign in</button>
</form></main></body></html>`;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export function loginPageHandlers(s: Services) {
  function freshCsrf(ctx: Ctx): string {
    const csrf = randomBytes(18).toString('base64url');
    ctx.cookies.set(CSRF_COOKIE, csrf, { httpOnly: true, sameSite: 'strict', path: LOGIN_PAGE_PATH, secure: ctx.secure, overwrite: true });
    return csrf;
  }

  return {
    /** Spec: GET /login/sso/redirect[/{idpId}]: the app's way in. */
    ssoRedirect(ctx: Ctx) {
      const { redirectUrl } = parseQuery(redirectQuery, ctx.query);
      appUrl(redirectUrl);
      ctx.redirect(`${LOGIN_PAGE_PATH}?redirect_url=${encodeURIComponent(redirectUrl)}`);
    },

    show(ctx: Ctx) {
      const { redirect_url } = parseQuery(pageQuery, ctx.query);
      render(ctx, s, { redirect: appUrl(redirect_url), csrf: freshCsrf(ctx) });
    },

    async submit(ctx: Ctx) {
      const form = formBody.safeParse(ctx.state.body);
      if (!form.success) throw new MatrixError(400, 'M_BAD_JSON', 'Not the login form.');
      const { username, password, code, redirect_url, csrf } = form.data;
      const redirect = appUrl(redirect_url);
      if (!sameSecret(csrf, ctx.cookies.get(CSRF_COOKIE) ?? '')) {
        render(ctx, s, { redirect, csrf: freshCsrf(ctx), username, error: 'This form expired. Please sign in again.' }, 403);
        return;
      }
      try {
        const userId = await s.login.checkCredentials(username, password, code.trim() === '' ? undefined : code, seenOf(ctx));
        const token = await s.login.issueLoginToken(userId);
        redirect.searchParams.set('loginToken', token);
        ctx.cookies.set(CSRF_COOKIE, null, { path: LOGIN_PAGE_PATH });
        ctx.status = 303;
        ctx.redirect(redirect.href);
      } catch (err) {
        if (!(err instanceof MatrixError)) throw err;
        const askCode = err.errcode === TOTP_REQUIRED;
        const error = askCode ? 'Enter the code from your authenticator app (or a recovery code) with your password.' : err.message;
        render(ctx, s, { redirect, csrf: freshCsrf(ctx), username, error, askCode }, askCode ? 200 : err.status);
      }
    },
  };
}
