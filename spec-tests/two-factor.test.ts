/**
 * Two-factor authentication through the HTTP API: enrolment behind the password, login with
 * and without the code, replays refused, recovery codes good once, UIA asking for the code,
 * turning it off, the rate limit on code checks, and the audit entries of each step.
 */
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

const TWO_FA = '/_whisper/client/v1/2fa';

/** The code an authenticator app shows `stepsAhead` periods from now. */
const codeFor = (secret: string, stepsAhead = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * stepsAhead });

function passwordAuth(user: TestUser, name: string, session?: string) {
  return { type: 'm.login.password', identifier: { type: 'm.id.user', user: name }, password: user.password, session };
}

async function login(srv: TestServer, name: string, password: string, code?: string) {
  return srv.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: name }, password, ...(code === undefined ? {} : { 'org.whisper.totp_code': code }) },
  });
}

/** Enrols and confirms; returns the secret and the recovery codes. */
async function turnOn(srv: TestServer, user: TestUser, name: string): Promise<{ secret: string; recovery: string[] }> {
  const enrol = await srv.request('POST', `${TWO_FA}/totp`, { token: user.access_token, body: { auth: passwordAuth(user, name) } });
  assert.equal(enrol.status, 200, JSON.stringify(enrol.body));
  const confirm = await srv.request('POST', `${TWO_FA}/totp/confirm`, { token: user.access_token, body: { code: await codeFor(enrol.body.secret) } });
  assert.equal(confirm.status, 200, JSON.stringify(confirm.body));
  return { secret: enrol.body.secret, recovery: confirm.body.recovery_codes };
}

describeServer('two-factor authentication', {}, (srv) => {
  let alice: TestUser;
  let secret: string;
  let recovery: string[];

  before(async () => {
    alice = await srv().register('alice');
  });

  it('enrolment asks for the password, gives an otpauth URI, and turns on with a first code', async () => {
    const challenge = await srv().request('POST', `${TWO_FA}/totp`, { token: alice.access_token, body: {} });
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
    const enrol = await srv().request('POST', `${TWO_FA}/totp`, { token: alice.access_token, body: { auth: passwordAuth(alice, 'alice') } });
    assert.equal(enrol.status, 200);
    secret = enrol.body.secret;
    const uri = new URL(enrol.body.otpauth_uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.match(uri.searchParams.get('issuer')!, /Whisper \(whisper\.test\)/);
    assert.deepEqual((await srv().request('GET', TWO_FA, { token: alice.access_token })).body, { enabled: false, pending: true, recovery_codes_left: 0 });
    // Still off until confirmed: login needs no code yet.
    assert.equal((await login(srv(), 'alice', alice.password)).status, 200);

    const wrong = await srv().request('POST', `${TWO_FA}/totp/confirm`, { token: alice.access_token, body: { code: '000000' } });
    assert.equal(wrong.status, 403);
    const confirm = await srv().request('POST', `${TWO_FA}/totp/confirm`, { token: alice.access_token, body: { code: await codeFor(secret) } });
    assert.equal(confirm.status, 200);
    recovery = confirm.body.recovery_codes;
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    for (const code of recovery) assert.match(code, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
    assert.deepEqual((await srv().request('GET', TWO_FA, { token: alice.access_token })).body, { enabled: true, pending: false, recovery_codes_left: 10 });
    const again = await srv().request('POST', `${TWO_FA}/totp`, {
      token: alice.access_token, body: { auth: passwordAuth(alice, 'alice') },
    });
    assert.equal(again.status, 401, 'a second enrolment now also needs the code (UIA)');
  });

  it('login needs the code, and a code works once', async () => {
    const without = await login(srv(), 'alice', alice.password);
    assert.equal(without.status, 403);
    assert.equal(without.body.errcode, 'ORG.WHISPER.TOTP_REQUIRED');
    assert.match(without.body.error, /login page/);
    const replayOfConfirm = await login(srv(), 'alice', alice.password, await codeFor(secret));
    assert.equal(replayOfConfirm.status, 403, 'the code that confirmed enrolment is spent');
    assert.equal(replayOfConfirm.body.errcode, 'M_FORBIDDEN');
    const next = await codeFor(secret, 1);
    const ok = await login(srv(), 'alice', alice.password, next);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await login(srv(), 'alice', alice.password, next)).status, 403, 'replay refused');
    const wrongPassword = await login(srv(), 'alice', 'not the password', await codeFor(secret, 1));
    assert.equal(wrongPassword.status, 403);
    assert.equal(wrongPassword.body.errcode, 'M_FORBIDDEN');
  });

  it('a recovery code signs in once, typed any way', async () => {
    const code = recovery[0];
    const res = await login(srv(), 'alice', alice.password, ` ${code.toUpperCase().replace('-', ' ')} `);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await login(srv(), 'alice', alice.password, code)).status, 403);
    assert.equal((await srv().request('GET', TWO_FA, { token: alice.access_token })).body.recovery_codes_left, 9);
  });

  it('UIA for a sensitive act asks for the code after the password', async () => {
    const first = await srv().request('POST', '/_matrix/client/v3/account/password', {
      token: alice.access_token, body: { new_password: 'a brand new password', logout_devices: false },
    });
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.password', 'org.whisper.totp'] }]);
    const session = first.body.session;
    const afterPassword = await srv().request('POST', '/_matrix/client/v3/account/password', {
      token: alice.access_token, body: { new_password: 'a brand new password', logout_devices: false, auth: passwordAuth(alice, 'alice', session) },
    });
    assert.equal(afterPassword.status, 401);
    assert.deepEqual(afterPassword.body.completed, ['m.login.password']);
    const badCode = await srv().request('POST', '/_matrix/client/v3/account/password', {
      token: alice.access_token, body: { new_password: 'a brand new password', logout_devices: false, auth: { type: 'org.whisper.totp', code: '123456', session } },
    });
    assert.equal(badCode.status, 401);
    assert.equal(badCode.body.errcode, 'M_FORBIDDEN');
    const done = await srv().request('POST', '/_matrix/client/v3/account/password', {
      token: alice.access_token, body: { new_password: 'a brand new password', logout_devices: false, auth: { type: 'org.whisper.totp', code: recovery[1], session } },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    alice.password = 'a brand new password';
  });

  it('new recovery codes void the old ones', async () => {
    const first = await srv().request('POST', `${TWO_FA}/recovery_codes`, { token: alice.access_token, body: { auth: passwordAuth(alice, 'alice') } });
    const res = await srv().request('POST', `${TWO_FA}/recovery_codes`, {
      token: alice.access_token, body: { auth: { type: 'org.whisper.totp', code: recovery[2], session: first.body.session } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.recovery_codes.length, 10);
    assert.equal((await login(srv(), 'alice', alice.password, recovery[3])).status, 403);
    assert.equal((await login(srv(), 'alice', alice.password, res.body.recovery_codes[0])).status, 200);
    recovery = res.body.recovery_codes;
  });

  it('turning it off needs password and code; then login needs neither code nor SSO', async () => {
    const first = await srv().request('POST', `${TWO_FA}/disable`, { token: alice.access_token, body: { auth: passwordAuth(alice, 'alice') } });
    assert.equal(first.status, 401);
    const off = await srv().request('POST', `${TWO_FA}/disable`, {
      token: alice.access_token, body: { auth: { type: 'org.whisper.totp', code: recovery[1], session: first.body.session } },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.deepEqual((await srv().request('GET', TWO_FA, { token: alice.access_token })).body, { enabled: false, pending: false, recovery_codes_left: 0 });
    assert.equal((await login(srv(), 'alice', alice.password)).status, 200);
  });

  it('every step is in the audit log', async () => {
    const res = await srv().request('GET', '/_whisper/client/v1/audit?kind=2fa.enable,2fa.used,2fa.failed,2fa.disable,2fa.recovery_codes_replaced,login.failed&limit=100', { token: alice.access_token });
    const kinds = new Set(res.body.entries.map((e: { kind: string }) => e.kind));
    for (const k of ['2fa.enable', '2fa.used', '2fa.failed', '2fa.disable', '2fa.recovery_codes_replaced', 'login.failed']) assert.ok(kinds.has(k), k);
    const recoveryUse = res.body.entries.find((e: { details: { method?: string } }) => e.details.method === 'recovery_code');
    assert.equal(recoveryUse.ip, '127.0.0.1');
    const secondFactorFailure = res.body.entries.find((e: { kind: string; details: { reason?: string } }) => e.kind === 'login.failed' && e.details.reason === 'second factor');
    assert.ok(secondFactorFailure);
  });
});

describeServer('two-factor code checks are rate limited', { rateLimits: { codePerAccount: { points: 3, durationSec: 600 } } }, (srv) => {
  it('a guesser is stopped after a few codes, without locking other accounts', async () => {
    const mallory = await srv().register('target');
    const { secret } = await turnOn(srv(), mallory, 'target');
    let limited = 0;
    for (let i = 0; i < 5; i++) {
      const res = await login(srv(), 'target', mallory.password, String(100000 + i));
      if (res.status === 429) {
        limited++;
        assert.equal(res.body.errcode, 'M_LIMIT_EXCEEDED');
      }
    }
    assert.ok(limited >= 2, `limited ${limited} of 5`);
    // Even the right code waits out the limit: a guesser cannot tell a hit from the limit.
    assert.equal((await login(srv(), 'target', mallory.password, await codeFor(secret, 1))).status, 429);
    const other = await srv().register('bystander');
    await turnOn(srv(), other, 'bystander');
  });
});
