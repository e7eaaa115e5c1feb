/**
 * Email on accounts against a real SMTP server started by the test (smtp-server): the
 * verification and reset mails arrive, their links work, and matrix-js-sdk drives the flows
 * the way Element does (requestAdd3pidEmailToken → addThreePidOnly; requestPasswordEmailToken →
 * setPassword with m.login.email.identity). Password reset signs every session out and still
 * asks for the second factor of an account that has one.
 */
import assert from 'node:assert/strict';
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { generate } from 'otplib';
import { describeServer, type TestServer, type TestUser } from './harness.ts';
import { startSmtpInbox, type ReceivedMail } from './smtpInbox.ts';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

/** A real SMTP server on loopback that keeps what it is sent. */
const smtp = await startSmtpInbox();
const inbox = smtp.mails;
after(() => smtp.close());

async function nextMail(to: string): Promise<ReceivedMail> {
  for (let i = 0; i < 100; i++) {
    const at = inbox.findIndex((m) => m.to === to);
    if (at >= 0) return inbox.splice(at, 1)[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail for ${to}`);
}

function linkIn(mail: ReceivedMail): string {
  const m = /(http:\/\/\S+\/_whisper\/email\/validate\?\S+)/.exec(mail.text);
  assert.ok(m, mail.text);
  return m[1];
}

function sdkFor(srv: TestServer, user: TestUser): MatrixClient {
  return createClient({ baseUrl: srv.url, userId: user.user_id, accessToken: user.access_token, deviceId: user.device_id });
}

const passwordAuth = (user: TestUser, name: string, session?: string) =>
  ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: name }, password: user.password, session });

describeServer('email addresses and password reset', smtp.config, (srv) => {
  let alice: TestUser;
  let recoveryCode: string;

  before(async () => {
    alice = await srv().register('alice');
  });

  it('adds an address after its link is opened (matrix-js-sdk, as Element does it)', async () => {
    const sdk = sdkFor(srv(), alice);
    const { sid } = await sdk.requestAdd3pidEmailToken('Alice@Example.org', 'secret-1', 1);
    const mail = await nextMail('alice@example.org');
    assert.match(mail.subject, /Confirm your email address for whisper\.test/);
    assert.match(mail.html, /<a href="http:\/\/127\.0\.0\.1:\d+\/_whisper\/email\/validate\?/);
    // A retry of the same attempt sends nothing more and gives the same session.
    assert.equal((await sdk.requestAdd3pidEmailToken('alice@example.org', 'secret-1', 1)).sid, sid);

    const early = await srv().request('POST', '/_matrix/client/v3/account/3pid/add', {
      token: alice.access_token, body: { sid, client_secret: 'secret-1', auth: passwordAuth(alice, 'alice') },
    });
    assert.equal(early.status, 400);
    assert.equal(early.body.errcode, 'M_THREEPID_AUTH_FAILED');

    const opened = await fetch(linkIn(mail));
    assert.equal(opened.status, 200);
    assert.match(await opened.text(), /Email address confirmed/);
    await assert.rejects(sdk.addThreePidOnly({ sid, client_secret: 'secret-1' }), (err: { httpStatus?: number }) => err.httpStatus === 401);
    await sdk.addThreePidOnly({ sid, client_secret: 'secret-1', auth: passwordAuth(alice, 'alice') });
    const { threepids } = await sdk.getThreePids();
    assert.deepEqual(threepids.map((t) => [t.medium, t.address]), [['email', 'alice@example.org']]);
    assert.equal(inbox.length, 0, 'one mail only');
  });

  it('an address belongs to one account; a bad link says so', async () => {
    const bob = await srv().register('bob');
    const taken = await srv().request('POST', '/_matrix/client/v3/account/3pid/email/requestToken', {
      body: { client_secret: 'bob-secret', email: 'alice@example.org', send_attempt: 1 },
    });
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_THREEPID_IN_USE');
    const bad = await fetch(`${srv().url}/_whisper/email/validate?sid=sid_x&client_secret=y&token=z`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /This link does not work/);
    for (const body of [{ client_secret: 'a b', email: 'x@example.org', send_attempt: 1 }, { client_secret: 's', email: 'not-an-email', send_attempt: 1 }, { client_secret: 's', email: 'x@example.org' }]) {
      const res = await srv().request('POST', '/_matrix/client/v3/account/3pid/email/requestToken', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    const notMine = await srv().request('POST', '/_matrix/client/v3/account/3pid/delete', { token: bob.access_token, body: { medium: 'email', address: 'alice@example.org' } });
    assert.equal(notMine.status, 400);
  });

  it('resets a forgotten password by email, signing every session out', async () => {
    const unknown = await srv().request('POST', '/_matrix/client/v3/account/password/email/requestToken', {
      body: { client_secret: 'reset-0', email: 'nobody@example.org', send_attempt: 1 },
    });
    assert.equal(unknown.body.errcode, 'M_THREEPID_NOT_FOUND');

    const anon = createClient({ baseUrl: srv().url });
    const { sid } = await anon.requestPasswordEmailToken('alice@example.org', 'reset-1', 1);
    const mail = await nextMail('alice@example.org');
    assert.match(mail.subject, /Reset your password on whisper\.test/);
    const creds = { sid, client_secret: 'reset-1' };
    const auth = { type: 'm.login.email.identity', threepid_creds: creds, threepidCreds: creds };

    const challenge = await srv().request('POST', '/_matrix/client/v3/account/password', { body: { new_password: 'reset password here' } });
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.email.identity'] }]);
    const tooSoon = await srv().request('POST', '/_matrix/client/v3/account/password', {
      body: { new_password: 'reset password here', auth: { ...auth, session: challenge.body.session } },
    });
    assert.equal(tooSoon.status, 401);
    assert.equal(tooSoon.body.errcode, 'M_UNAUTHORIZED');

    assert.equal((await fetch(linkIn(mail))).status, 200);
    await anon.setPassword({ ...auth, session: challenge.body.session }, 'reset password here', true);
    const old = await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: alice.access_token });
    assert.equal(old.status, 401, 'every session signed out');
    const login = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'reset password here' },
    });
    assert.equal(login.status, 200);
    alice = { ...alice, access_token: login.body.access_token, device_id: login.body.device_id, password: 'reset password here' };
    const audit = await srv().request('GET', '/_whisper/client/v1/audit?kind=password.reset,email.add', { token: alice.access_token });
    assert.deepEqual(audit.body.entries.map((e: { kind: string }) => e.kind), ['password.reset', 'email.add']);
    // The link's proof is spent with the reset.
    const replay = await srv().request('POST', '/_matrix/client/v3/account/password', { body: { new_password: 'yet another password', auth } });
    assert.equal(replay.status, 401);
  });

  it('a reset still asks for the second factor of an account that has one', async () => {
    const enrol = await srv().request('POST', '/_whisper/client/v1/2fa/totp', { token: alice.access_token, body: { auth: passwordAuth(alice, 'alice') } });
    const confirm = await srv().request('POST', '/_whisper/client/v1/2fa/totp/confirm', { token: alice.access_token, body: { code: await generate({ secret: enrol.body.secret }) } });
    recoveryCode = confirm.body.recovery_codes[0];
    const { sid } = await createClient({ baseUrl: srv().url }).requestPasswordEmailToken('alice@example.org', 'reset-2', 1);
    await fetch(linkIn(await nextMail('alice@example.org')));
    const auth = { type: 'm.login.email.identity', threepid_creds: { sid, client_secret: 'reset-2' } };
    const first = await srv().request('POST', '/_matrix/client/v3/account/password', { body: { new_password: 'third password!', auth } });
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.completed, ['m.login.email.identity']);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.email.identity', 'org.whisper.totp'] }]);
    const code = await generate({ secret: enrol.body.secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const done = await srv().request('POST', '/_matrix/client/v3/account/password', {
      body: { new_password: 'third password!', auth: { type: 'org.whisper.totp', code, session: first.body.session } },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  });

  it('removes an address', async () => {
    const fresh = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'third password!', 'org.whisper.totp_code': recoveryCode },
    });
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    const res = await srv().request('POST', '/_matrix/client/v3/account/3pid/delete', { token: fresh.body.access_token, body: { medium: 'email', address: 'alice@example.org' } });
    assert.deepEqual(res.body, { id_server_unbind_result: 'no-support' });
    assert.deepEqual((await srv().request('GET', '/_matrix/client/v3/account/3pid', { token: fresh.body.access_token })).body, { threepids: [] });
  });
});

describeServer('email without an SMTP server', {}, (srv) => {
  it('says the server sends no mail', async () => {
    const res = await srv().request('POST', '/_matrix/client/v3/account/3pid/email/requestToken', {
      body: { client_secret: 'x', email: 'a@example.org', send_attempt: 1 },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.errcode, 'M_THREEPID_MEDIUM_NOT_SUPPORTED');
  });
});
