/**
 * Several server processes sharing one PostgreSQL: a session ended through one is refused by
 * the others (their token caches hear of it by LISTEN/NOTIFY), and rate limits are shared.
 */
import assert from 'node:assert/strict';
import { backends, startTestServer, type TestServer } from './harness.ts';
import { buildConfig } from '../homeserver/config.ts';
import { createLogger } from '../homeserver/logging.ts';
import { startHomeserver } from '../homeserver/main.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds or the time is up (a notification crosses processes). */
async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(25);
  }
  return check();
}

for (const backend of backends().filter((b) => b.name === 'postgres')) {
  describe('two server processes on one PostgreSQL', function () {
    this.timeout(60_000);
    let a: TestServer;
    let bUrl: string;
    let closeB: () => Promise<void>;

    before(async () => {
      a = await startTestServer(backend, { rateLimits: { loginPerAccount: { points: 4, durationSec: 60 } } });
      // A second server on the same database (A's), as a second process would be.
      const b = await startHomeserver(
        buildConfig({ ...a.config, port: 0, publicUrl: undefined }),
        createLogger('silent'),
      );
      bUrl = b.url;
      closeB = b.close;
    });
    after(async () => {
      await closeB?.();
      await a?.close();
    });

    const whoamiOnB = (token: string) =>
      fetch(`${bUrl}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);

    it('a logout through A is refused by B, which had the token cached', async () => {
      const u = await a.register('roamer');
      assert.equal(await whoamiOnB(u.access_token), 200);
      assert.equal(await whoamiOnB(u.access_token), 200, 'served from B\'s cache');
      const out = await a.request('POST', '/_matrix/client/v3/logout', { token: u.access_token });
      assert.equal(out.status, 200);
      assert.ok(await eventually(async () => (await whoamiOnB(u.access_token)) === 401), 'B refuses the ended session');
    });

    it('a password change through A signs the other sessions out on B too', async () => {
      const u = await a.register('changer');
      const other = await a.request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'changer', password: u.password } });
      assert.equal(await whoamiOnB(other.body.access_token), 200);
      const res = await a.request('POST', '/_matrix/client/v3/account/password', {
        token: u.access_token,
        body: { new_password: 'changed password', auth: { type: 'm.login.password', user: 'changer', password: u.password } },
      });
      assert.equal(res.status, 200);
      assert.ok(await eventually(async () => (await whoamiOnB(other.body.access_token)) === 401));
      assert.equal(await whoamiOnB(u.access_token), 200, 'the session that changed it stays');
    });

    it('the per-account login limit is shared between the processes', async () => {
      const login = (url: string) =>
        fetch(`${url}/_matrix/client/v3/login`, {
          method: 'POST', body: JSON.stringify({ type: 'm.login.password', user: 'limited', password: 'wrong password' }),
        }).then((r) => r.status);
      const statuses = [await login(a.url), await login(bUrl), await login(a.url), await login(bUrl), await login(a.url), await login(bUrl)];
      assert.deepEqual(statuses, [403, 403, 403, 403, 429, 429]);
    });
  });
}
