/**
 * "Forgot password?" in the state layer against a real server that mails through a real SMTP
 * server on loopback (smtp-server): unknown address, the link not opened yet, the new password
 * set once it was (every session signed out), the second factor of an account that has one,
 * and the rate limit's wait.
 */
import assert from 'node:assert/strict';
import { generate } from 'otplib';
import { describeServer, type TestServer, type TestUser } from '../../../spec-tests/harness.ts';
import { startSmtpInbox } from '../../../spec-tests/smtpInbox.ts';
import { until } from '../../../spec-tests/sdkHelpers.ts';
import { RESET_LINK_NOT_OPENED, RESET_NEEDS_TOTP, waitText } from './passwordReset.ts';
import { AuthError, SessionStore, type KeyValueStore } from './session.ts';

const smtp = await startSmtpInbox();
const inbox = smtp.mails;
after(() => smtp.close());
const mailConfig = smtp.config;

function memoryStore(): KeyValueStore {
  const data = new Map<string, string>();
  return { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

/** Takes the next mail to `to` out of the inbox and returns its link. */
async function linkMailedTo(to: string): Promise<string> {
  const mail = await until(`a mail to ${to}`, () => inbox.find((m) => m.to === to));
  inbox.splice(inbox.indexOf(mail), 1);
  const link = /(http:\/\/\S+\/_whisper\/email\/validate\?\S+)/.exec(mail.text)?.[1];
  assert.ok(link, mail.text);
  return link;
}

/** A user with a confirmed email address (added through the server's own flow). */
async function userWithEmail(srv: TestServer, address: string): Promise<TestUser> {
  const user = await srv.register();
  const { body } = await srv.request('POST', '/_matrix/client/v3/account/3pid/email/requestToken', { body: { client_secret: 'add', email: address, send_attempt: 1 } });
  await fetch(await linkMailedTo(address));
  const name = user.user_id.slice(1, user.user_id.indexOf(':'));
  const added = await srv.request('POST', '/_matrix/client/v3/account/3pid/add', {
    token: user.access_token,
    body: { sid: body.sid, client_secret: 'add', auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: name }, password: user.password } },
  });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  return user;
}

const nameOf = (user: TestUser) => user.user_id.slice(1, user.user_id.indexOf(':'));

describeServer('password reset by email (state layer)', mailConfig, (srv) => {
  it('an unknown address is told plainly', async () => {
    const reset = new SessionStore(memoryStore(), srv().url).passwordReset();
    await assert.rejects(reset.request(srv().url, 'nobody@example.org'), (e: AuthError) => e.errcode === 'M_THREEPID_NOT_FOUND' && /No account/.test(e.message));
    await assert.rejects(reset.request(srv().url, 'not an address'), (e: AuthError) => e.errcode === 'W_BAD_EMAIL');
    assert.equal(reset.pending(), undefined);
  });

  it('mails a link; the new password is set once it was opened, and every session is signed out', async () => {
    const user = await userWithEmail(srv(), 'reset-me@example.org');
    const store = memoryStore();
    const sessions = new SessionStore(store, srv().url);
    const pending = await sessions.passwordReset().request(srv().url, 'Reset-Me@example.org');
    assert.equal(pending.sendAttempt, 1);
    const link = await linkMailedTo('reset-me@example.org');

    // A reload keeps the request; finishing before the link was opened says what to do.
    const reset = new SessionStore(store, srv().url).passwordReset();
    assert.deepEqual(reset.pending(), pending);
    await assert.rejects(reset.finish('a brand new password'), (e: AuthError) => e.errcode === RESET_LINK_NOT_OPENED && /Open the link/.test(e.message));
    // "Send it again" mails a new link (the next attempt of the same request).
    assert.equal((await reset.resend()).sendAttempt, 2);
    const second = await linkMailedTo('reset-me@example.org');
    assert.notEqual(second, link);

    assert.equal((await fetch(second)).status, 200);
    await assert.rejects(reset.finish('short'), (e: AuthError) => e.errcode === 'M_WEAK_PASSWORD');
    await reset.finish('a brand new password');
    assert.equal(reset.pending(), undefined, 'done: nothing is pending any more');
    const old = await srv().request('GET', '/_matrix/client/v3/account/whoami', { token: user.access_token });
    assert.equal(old.body.errcode, 'M_UNKNOWN_TOKEN', 'every session was signed out');
    await assert.rejects(sessions.login(srv().url, nameOf(user), user.password), (e: AuthError) => e.errcode === 'M_FORBIDDEN');
    const session = await sessions.login(srv().url, nameOf(user), 'a brand new password');
    assert.equal(session.userId, user.user_id);
  });

  it('an account with two-factor auth also needs its code', async () => {
    const user = await userWithEmail(srv(), 'two-factor@example.org');
    const enrol = await srv().request('POST', '/_whisper/client/v1/2fa/totp', {
      token: user.access_token, body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: nameOf(user) }, password: user.password } },
    });
    const confirm = await srv().request('POST', '/_whisper/client/v1/2fa/totp/confirm', { token: user.access_token, body: { code: await generate({ secret: enrol.body.secret }) } });
    assert.equal(confirm.status, 200);
    const reset = new SessionStore(memoryStore(), srv().url).passwordReset();
    await reset.request(srv().url, 'two-factor@example.org');
    await fetch(await linkMailedTo('two-factor@example.org'));
    await assert.rejects(reset.finish('new two-factor password'), (e: AuthError) => e.errcode === RESET_NEEDS_TOTP);
    await assert.rejects(reset.finish('new two-factor password', '000000'), (e: AuthError) => e.errcode === 'M_FORBIDDEN');
    await reset.finish('new two-factor password', confirm.body.recovery_codes[0]);
    const login = await srv().request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: nameOf(user) }, password: 'new two-factor password', 'org.whisper.totp_code': confirm.body.recovery_codes[1] },
    });
    assert.equal(login.status, 200);
  });
});

describeServer('password reset mails are rate limited (state layer)', { ...mailConfig, rateLimits: { mailPerAddress: { points: 2, durationSec: 600 } } }, (srv) => {
  it('says how long to wait', async () => {
    await userWithEmail(srv(), 'limited@example.org');
    const reset = new SessionStore(memoryStore(), srv().url).passwordReset();
    await reset.request(srv().url, 'limited@example.org');
    await linkMailedTo('limited@example.org');
    await assert.rejects(reset.resend(), (e: AuthError) => e.errcode === 'M_LIMIT_EXCEEDED' && e.status === 429 && /Try again in (about \d+ minutes|\d+ seconds)/.test(e.message));
    assert.ok(reset.pending(), 'the request is still there to finish with the first link');
  });
});

describe('password reset: the wait, for people', () => {
  it('says seconds, then minutes', () => {
    assert.equal(waitText(1), 'in 1 second');
    assert.equal(waitText(40_000), 'in 40 seconds');
    assert.equal(waitText(600_000), 'in about 10 minutes');
  });
});

describeServer('password reset without mail (state layer)', {}, (srv) => {
  it('says the server sends no email', async () => {
    const reset = new SessionStore(memoryStore(), srv().url).passwordReset();
    await assert.rejects(reset.request(srv().url, 'a@example.org'), (e: AuthError) => e.errcode === 'M_THREEPID_MEDIUM_NOT_SUPPORTED' && /does not send email/.test(e.message));
  });
});
