/**
 * Sweeps every route the server has with bad input: malformed JSON, non-object JSON, wrong
 * types, missing fields, oversized bodies, bad and expired tokens, unknown ids. Each must be
 * a 4xx Matrix error (or a UIA challenge), never a 500 and never a hang.
 */
import assert from 'node:assert/strict';
import { buildRouter, isBrowserPage, takesRawBody } from '../homeserver/http/routes.ts';
import { describeServer, type Response, type TestServer, type TestUser } from './harness.ts';

interface Route {
  method: string;
  path: string;
}

function routesOf(server: TestServer): Route[] {
  const router = buildRouter(server.hs.services);
  const routes: Route[] = [];
  for (const layer of router.stack) {
    for (const method of layer.methods) {
      if (method === 'HEAD') continue;
      routes.push({ method, path: String(layer.path) });
    }
  }
  return routes;
}

/**
 * Routes whose body is JSON. An upload's body is the file itself (any bytes are a valid
 * file, and its size limit is the upload limit): media.test.ts sweeps those.
 */
function jsonBodyRoutes(server: TestServer): Route[] {
  return routesOf(server).filter((r) => r.method !== 'GET' && !takesRawBody(r.path));
}

/** Fills path parameters with ids nobody has. */
function concrete(path: string, fill: string): string {
  return path.replace(/:(\w+)/g, () => encodeURIComponent(fill));
}

const WRONG_TYPES = {
  username: 5, password: [], auth: 'x', new_password: 1, devices: 'x', display_name: 7, displayname: 5,
  avatar_url: 3, refresh_token: 9, type: 1, identifier: 'x', logout_devices: 'yes', inhibit_login: 'no',
  device_id: {}, initial_device_display_name: false, user: null, erase: 'maybe',
};

function assertMatrixError(res: Response, what: string, route: string): void {
  assert.ok(res.status < 500, `${what}: got ${res.status} ${JSON.stringify(res.body)}`);
  // A browser page answers bad input with a page saying so (the login form, the mail link).
  if (res.status >= 400 && (res.headers.get('content-type') ?? '').startsWith('text/html')) {
    assert.ok(isBrowserPage(route), `${what}: an HTML error from an API route`);
    return;
  }
  if (res.status >= 400) {
    assert.ok(res.body && typeof res.body === 'object', `${what}: error body is JSON`);
    const isChallenge = res.status === 401 && Array.isArray(res.body.flows);
    assert.ok(isChallenge || typeof res.body.errcode === 'string', `${what}: has errcode: ${JSON.stringify(res.body)}`);
  }
}

describeServer('bad input on every route', { accessTokenLifetimeMs: 200 }, (srv) => {
  let user: TestUser;

  before(async () => {
    user = await srv().register('sweeper');
  });

  it('knows a good number of routes', () => {
    assert.ok(routesOf(srv()).length >= 25);
  });

  it('malformed JSON is M_NOT_JSON, non-object JSON is M_BAD_JSON', async () => {
    for (const r of jsonBodyRoutes(srv())) {
      const path = concrete(r.path, '@nobody:whisper.test');
      const bad = await srv().request(r.method, path, { rawBody: '{"username": ', token: user.access_token });
      assert.equal(bad.status, 400, `${r.method} ${r.path}`);
      assert.equal(bad.body.errcode, 'M_NOT_JSON', `${r.method} ${r.path}`);
      for (const raw of ['[1,2]', '"text"', '42', 'null']) {
        const res = await srv().request(r.method, path, { rawBody: raw, token: user.access_token });
        assert.equal(res.body.errcode, 'M_BAD_JSON', `${r.method} ${r.path} with ${raw}`);
      }
    }
  });

  it('bodies over the limit are 413 M_TOO_LARGE; a 1 MB field is refused with a 4xx', async () => {
    const huge = JSON.stringify({ username: 'x'.repeat(srv().config.maxBodyBytes + 10) });
    const big = JSON.stringify({ password: 'p'.repeat(1_000_000), displayname: 'd'.repeat(1_000_000 - 20).slice(0, 1000) });
    for (const r of jsonBodyRoutes(srv())) {
      const path = concrete(r.path, '@nobody:whisper.test');
      const res = await srv().request(r.method, path, { rawBody: huge, token: user.access_token });
      assert.equal(res.status, 413, `${r.method} ${r.path}`);
      assert.equal(res.body.errcode, 'M_TOO_LARGE');
      assertMatrixError(await srv().request(r.method, path, { rawBody: big, token: user.access_token }), `${r.method} ${r.path} 1MB`, r.path);
    }
  });

  it('wrong types, missing fields and unknown ids are 4xx Matrix errors', async () => {
    for (const r of routesOf(srv())) {
      // A session of its own per route, so /logout cannot blunt the routes after it.
      const login = await srv().request('POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', user: 'sweeper', password: user.password },
      });
      const token = login.body.access_token;
      for (const fill of ['@nobody:whisper.test', 'NOSUCHDEVICE', '%00', 'a'.repeat(300)]) {
        const path = concrete(r.path, fill);
        const bodies = r.method === 'GET' ? [undefined] : [{}, WRONG_TYPES, { auth: { type: 'm.login.password', password: 5 } }];
        for (const body of bodies) {
          const res = await srv().request(r.method, path, { body, token });
          assertMatrixError(res, `${r.method} ${r.path} fill=${fill.slice(0, 10)} body=${JSON.stringify(body)?.slice(0, 40)}`, r.path);
        }
      }
      if (r.method === 'GET') {
        const q = await srv().request('GET', `${concrete(r.path, 'x')}?username=a&username=b&token=1&token=2&kind=alien`, { token });
        assertMatrixError(q, `GET ${r.path} with repeated query params`, r.path);
      }
    }
  });

  it('bad and expired tokens are 401 on every authenticated route', async () => {
    const login = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', user: 'sweeper', password: user.password, refresh_token: true },
    });
    const expiredToken = login.body.access_token;
    await new Promise((r) => setTimeout(r, 300));
    for (const r of routesOf(srv())) {
      const path = concrete(r.path, '@nobody:whisper.test');
      const anon = await srv().request(r.method, path, { body: r.method === 'GET' ? undefined : {} });
      assertMatrixError(anon, `${r.method} ${r.path} anonymous`, r.path);
      if (anon.status !== 401 || anon.body.errcode !== 'M_MISSING_TOKEN') continue;
      const bad = await srv().request(r.method, path, { token: 'wsa_bogus', body: r.method === 'GET' ? undefined : {} });
      assert.equal(bad.status, 401);
      assert.equal(bad.body.errcode, 'M_UNKNOWN_TOKEN');
      const expired = await srv().request(r.method, path, { token: expiredToken, body: r.method === 'GET' ? undefined : {} });
      assert.equal(expired.status, 401, `${r.method} ${r.path}`);
      assert.equal(expired.body.soft_logout, true);
    }
  });
});
