/**
 * The homeserver's login page (single sign-on with this server as the provider), as a
 * third-party app uses it: matrix-js-sdk builds the SSO URL, a "browser" (fetch with cookies
 * kept by hand) fills in the form, the page redirects to the app with a login token, and the
 * app exchanges it through m.login.token. Accounts with two-factor authentication are asked
 * for their code on the page.
 */
import assert from 'node:assert/strict';
import { createClient } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { generate } from 'otplib';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

const APP = 'http://127.0.0.1:9/app/callback?state=xyz';

interface Page {
  status: number;
  html: string;
  cookie: string;
  csrf: string;
  location: string | null;
}

/** Opens the login page the way a browser would, following the SSO redirect. */
async function openPage(srv: TestServer, ssoUrl: string): Promise<Page> {
  const first = await fetch(ssoUrl, { redirect: 'manual' });
  assert.equal(first.status, 302);
  const pageUrl = new URL(first.headers.get('location')!, srv.url);
  const res = await fetch(pageUrl, { redirect: 'manual' });
  return read(res);
}

async function read(res: Response): Promise<Page> {
  const html = await res.text();
  const setCookie = res.headers.get('set-cookie') ?? '';
  return {
    status: res.status,
    html,
    cookie: setCookie.split(';')[0],
    csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '',
    location: res.headers.get('location'),
  };
}

async function submit(srv: TestServer, page: Page, fields: Record<string, string>, cookie = page.cookie): Promise<Page> {
  const res = await fetch(`${srv.url}/_whisper/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
    body: new URLSearchParams({ redirect_url: APP, csrf: page.csrf, ...fields }).toString(),
  });
  return read(res);
}

describeServer('login page (SSO) for apps without a second-factor step', {}, (srv) => {
  let alice: TestUser;
  let ssoUrl: string;

  before(async () => {
    alice = await srv().register('alice');
    const sdk = createClient({ baseUrl: srv().url });
    ssoUrl = sdk.getSsoLoginUrl(APP, 'sso', 'whisper');
  });

  it('offers m.login.sso (with the page as provider) and m.login.token', async () => {
    const res = await srv().request('GET', '/_matrix/client/v3/login');
    const sso = res.body.flows.find((f: { type: string }) => f.type === 'm.login.sso');
    assert.deepEqual(sso.identity_providers, [{ id: 'whisper', name: 'Whisper login page' }]);
    assert.ok(res.body.flows.some((f: { type: string }) => f.type === 'm.login.token'));
  });

  it('shows a form naming the app it will send you to, locked against framing and other sites', async () => {
    const page = await openPage(srv(), ssoUrl);
    assert.equal(page.status, 200);
    assert.match(page.html, /Sign in to whisper\.test/);
    assert.match(page.html, /An app at <span class="dest">127\.0\.0\.1:9<\/span>/);
    assert.ok(page.csrf.length > 10);
    assert.match(page.cookie, /^whisper_login_csrf=/);
    const res = await fetch(`${srv().url}/_whisper/login?redirect_url=${encodeURIComponent(APP)}`);
    assert.match(res.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    assert.match(res.headers.get('content-security-policy')!, /form-action 'self' http:\/\/127\.0\.0\.1:9/);
    assert.match(res.headers.get('set-cookie')!, /HttpOnly/i);
    assert.match(res.headers.get('set-cookie')!, /SameSite=Strict/i);
  });

  it('signs in: the app receives a token good for one session', async () => {
    const page = await openPage(srv(), ssoUrl);
    const done = await submit(srv(), page, { username: 'alice', password: alice.password });
    assert.equal(done.status, 303, done.html.slice(0, 500));
    const back = new URL(done.location!);
    assert.equal(back.origin + back.pathname, 'http://127.0.0.1:9/app/callback');
    assert.equal(back.searchParams.get('state'), 'xyz', 'the app\'s own parameters are kept');
    const token = back.searchParams.get('loginToken')!;
    const app = createClient({ baseUrl: srv().url });
    const session = await app.loginRequest({ type: 'm.login.token', token, initial_device_display_name: 'Element' });
    assert.equal(session.user_id, alice.user_id);
    const who = await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: session.access_token });
    assert.equal(who.body.user_id, alice.user_id);
    const again = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.token', token } });
    assert.equal(again.status, 403, 'a login token works once');
    const audit = await srv().request('GET', '/_whisper/client/v1/audit?kind=login', { token: session.access_token });
    assert.deepEqual(audit.body.entries[0].details, { method: 'token' });
  });

  it('refuses wrong passwords, forged forms, and dangerous redirect URLs', async () => {
    const page = await openPage(srv(), ssoUrl);
    const wrong = await submit(srv(), page, { username: 'alice', password: 'nope nope nope' });
    assert.equal(wrong.status, 403);
    assert.match(wrong.html, /Invalid username or password/);
    assert.match(wrong.html, /value="alice"/, 'the name is kept, the password is not');
    const forged = await submit(srv(), page, { username: 'alice', password: alice.password }, 'whisper_login_csrf=someone-elses');
    assert.equal(forged.status, 403);
    assert.match(forged.html, /form expired/);
    assert.equal(forged.location, null);
    const noCookie = await submit(srv(), page, { username: 'alice', password: alice.password }, '');
    assert.equal(noCookie.status, 403);
    for (const bad of ['javascript:alert(1)', 'data:text/html,hi', 'not a url']) {
      const res = await fetch(`${srv().url}/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(bad)}`, { redirect: 'manual' });
      assert.equal(res.status, 400, bad);
      assert.equal((await res.json()).errcode, 'M_INVALID_PARAM');
    }
    const missing = await fetch(`${srv().url}/_matrix/client/v3/login/sso/redirect`, { redirect: 'manual' });
    assert.equal(missing.status, 400);
    const bogus = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.token', token: 'wsl_madeup' } });
    assert.equal(bogus.status, 403);
    const escaped = await fetch(`${srv().url}/_whisper/login?redirect_url=${encodeURIComponent('https://x.example/"><script>alert(1)</script>')}`);
    assert.doesNotMatch(await escaped.text(), /<script>alert/);
  });

  it('asks for the second factor when the account has one, and then lets the app in', async () => {
    const bob = await srv().register('bob');
    const enrol = await srv().request('POST', '/_whisper/client/v1/2fa/totp', {
      token: bob.access_token, body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: bob.password } },
    });
    await srv().request('POST', '/_whisper/client/v1/2fa/totp/confirm', { token: bob.access_token, body: { code: await generate({ secret: enrol.body.secret }) } });
    // Element's own password login cannot go on: it is told to use the page.
    const direct = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: bob.password },
    });
    assert.equal(direct.body.errcode, 'ORG.WHISPER.TOTP_REQUIRED');

    const page = await openPage(srv(), ssoUrl);
    const ask = await submit(srv(), page, { username: 'bob', password: bob.password });
    assert.equal(ask.status, 200);
    assert.match(ask.html, /Enter the code from your authenticator app/);
    assert.match(ask.html, /name="code"[^>]* required/);
    const next = await generate({ secret: enrol.body.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const done = await submit(srv(), ask, { username: 'bob', password: bob.password, code: next }, ask.cookie);
    assert.equal(done.status, 303, done.html.slice(0, 300));
    const token = new URL(done.location!).searchParams.get('loginToken')!;
    const session = await srv().request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.token', token } });
    assert.equal(session.status, 200);
    assert.equal(session.body.user_id, bob.user_id);
  });
});
