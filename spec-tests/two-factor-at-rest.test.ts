/**
 * TOTP secrets are kept encrypted under the server key (AES-256-GCM): the stored column does
 * not hold the secret, and sign-in with a code works, across a restart too (the key made on
 * first start is kept in the data dir). A secret an older server kept in clear keeps working
 * and gets sealed (at start-up, or when next read). A server given another key refuses to
 * start with a message naming WHISPER_SECRET_KEY, and a secret that does not open refuses the
 * sign-in with a clear 403 instead of a 500.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import type { ConfigInput } from '../homeserver/config.ts';
import { createLogger } from '../homeserver/logging.ts';
import { startHomeserver } from '../homeserver/main.ts';
import { backends, testConfig, TestServer, type TestUser } from './harness.ts';

const TWO_FA = '/_whisper/client/v1/2fa';

/** The code an authenticator app shows `stepsAhead` periods from now (each code is good once). */
const codeFor = (secret: string, stepsAhead = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * stepsAhead });

async function turnOn(srv: TestServer, user: TestUser): Promise<string> {
  const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: user.password };
  const enrol = await srv.request('POST', `${TWO_FA}/totp`, { token: user.access_token, body: { auth } });
  assert.equal(enrol.status, 200, JSON.stringify(enrol.body));
  const confirm = await srv.request('POST', `${TWO_FA}/totp/confirm`, { token: user.access_token, body: { code: await codeFor(enrol.body.secret) } });
  assert.equal(confirm.status, 200, JSON.stringify(confirm.body));
  return enrol.body.secret;
}

const login = (srv: TestServer, user: TestUser, code: string) => srv.request('POST', '/_matrix/client/v3/login', {
  body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: user.password, 'org.whisper.totp_code': code },
});

for (const backend of backends()) {
  describe(`two-factor secrets at rest [${backend.name}]`, function () {
    // Each test starts servers on an on-disk PGlite (a restart keeps it), which takes a while.
    this.timeout(120_000);
    let dataDir: string;
    let databaseUrl: string | undefined;
    let drop: () => Promise<void>;
    let running: TestServer | undefined;

    /** A server on this test's database and data dir; by default its key is the data dir's file. */
    async function start(overrides: Partial<ConfigInput> = {}): Promise<TestServer> {
      const hs = await startHomeserver(testConfig(databaseUrl, { dataDir, secretKey: undefined, ...overrides }), createLogger('silent'));
      running = new TestServer(hs, [], async () => {});
      return running;
    }
    async function stop(): Promise<void> {
      await running?.close();
      running = undefined;
    }
    const stored = async (srv: TestServer, user: TestUser): Promise<string> =>
      (await srv.hs.database.db('totp_secrets').where({ user_id: user.user_id }).first('secret')).secret;
    const storeInClear = (srv: TestServer, user: TestUser, secret: string) =>
      srv.hs.database.db('totp_secrets').where({ user_id: user.user_id }).update({ secret });

    beforeEach(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'whisper-2fa-'));
      const made = await backend.create();
      databaseUrl = made.databaseUrl;
      drop = made.drop;
    });
    afterEach(async () => {
      await stop();
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('the stored column does not hold the secret; sign-in with the code works, after a restart too', async () => {
      let srv = await start();
      const [alice, bob] = [await srv.register(), await srv.register()];
      const secret = await turnOn(srv, alice);
      const bobSecret = await turnOn(srv, bob);
      const column = await stored(srv, alice);
      assert.ok(!column.includes(secret), 'the secret is not stored in clear');
      assert.match(column, /^enc1\./);
      assert.equal((await login(srv, alice, await codeFor(secret, 1))).status, 200);
      // The key made on first start is kept in the data dir, for the owner only.
      const keyFile = path.join(dataDir, 'secret.key');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);

      await stop();
      srv = await start();
      assert.equal(await stored(srv, alice), column);
      // (Bob's next code: alice's is a period away, as each code is good once.)
      assert.equal((await login(srv, bob, await codeFor(bobSecret, 1))).status, 200, 'the same key after a restart');
    });

    it('a secret kept in clear by an older server keeps working, and is sealed when read or at start-up', async () => {
      let srv = await start();
      const [alice, bob] = [await srv.register(), await srv.register()];
      const [aliceSecret, bobSecret] = [await turnOn(srv, alice), await turnOn(srv, bob)];
      await storeInClear(srv, alice, aliceSecret);
      await storeInClear(srv, bob, bobSecret);
      // Read while in clear: works, and is sealed on the way.
      assert.equal((await login(srv, alice, await codeFor(aliceSecret, 1))).status, 200);
      assert.match(await stored(srv, alice), /^enc1\./);
      // Bob never signed in: the next start seals his.
      await stop();
      srv = await start();
      assert.match(await stored(srv, bob), /^enc1\./);
      assert.ok(!(await stored(srv, bob)).includes(bobSecret));
      assert.equal((await login(srv, bob, await codeFor(bobSecret, 1))).status, 200);
    });

    it('a server with another key refuses to start, naming the setting; a secret that does not open refuses sign-in with a 403', async () => {
      let srv = await start();
      const alice = await srv.register();
      const secret = await turnOn(srv, alice);
      await stop();

      await assert.rejects(start({ secretKey: randomBytes(32).toString('hex') }), (err: Error) => {
        assert.match(err.message, /another server key/);
        assert.match(err.message, /WHISPER_SECRET_KEY/);
        return true;
      });
      // The right key (here the data dir's, also given as the setting) starts.
      srv = await start({ secretKey: readFileSync(path.join(dataDir, 'secret.key'), 'utf8').trim() });
      assert.equal((await login(srv, alice, await codeFor(secret, 1))).status, 200);

      // An altered secret (or one a misconfigured process sealed under its own key) fails closed.
      const column = await stored(srv, alice);
      await storeInClear(srv, alice, `${column.slice(0, -4)}AAAA`);
      for (const step of [1, 1]) {
        const res = await login(srv, alice, await codeFor(secret, step));
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(res.body.errcode, 'M_FORBIDDEN');
        assert.match(res.body.error, /cannot read the stored secret/);
      }
      assert.equal((await srv.request('GET', '/_matrix/client/versions')).status, 200, 'the server carries on');
    });
  });
}
