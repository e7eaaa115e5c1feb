/**
 * "Forgot password?" in Chromium against a real server that mails through a real SMTP server on
 * loopback (smtp-server): an unknown address is told plainly, the mail is sent again on request
 * until the rate limit says how long to wait, the link opened from the mail lets the app set
 * the new password, every session is signed out, and the new password signs in. Screenshots
 * of each step go to spec-tests/artifacts.
 */
import assert from 'node:assert/strict';
import { screenshot, webClientSuite } from './browser.ts';
import type { TestServer, TestUser } from './harness.ts';
import { startSmtpInbox, type SmtpInbox } from './smtpInbox.ts';
import { until } from './sdkHelpers.ts';

const NEW_PASSWORD = 'a new password for alice';

describe('web client in Chromium: forgot password', function () {
  this.timeout(60_000);
  let smtp: SmtpInbox | undefined;
  // The inbox first: the server is configured with its address.
  before(async () => { smtp = await startSmtpInbox(); });
  // Three mails to one address an hour: the address's confirmation, the reset, one resend.
  const suite = webClientSuite('failed-reset-', () => ({ ...smtp!.config, rateLimits: { mailPerAddress: { points: 3, durationSec: 3600 } } }));
  const opened = suite.opened;
  let srv: TestServer;
  before(() => { srv = suite.srv(); });
  after(async () => { await smtp?.close(); });

  /** Takes the next mail to `to` out of the inbox and returns its link. */
  async function linkMailedTo(to: string): Promise<string> {
    const inbox = smtp!.mails;
    const mail = await until(`a mail to ${to}`, () => inbox.find((m) => m.to === to));
    inbox.splice(inbox.indexOf(mail), 1);
    const link = /(http:\/\/\S+\/_whisper\/email\/validate\?\S+)/.exec(mail.text)?.[1];
    assert.ok(link, mail.text);
    return link;
  }

  async function userWithEmail(address: string): Promise<TestUser> {
    const user = await srv.register('alice');
    const { body } = await srv.request('POST', '/_matrix/client/v3/account/3pid/email/requestToken', { body: { client_secret: 'add', email: address, send_attempt: 1 } });
    await fetch(await linkMailedTo(address));
    const added = await srv.request('POST', '/_matrix/client/v3/account/3pid/add', {
      token: user.access_token,
      body: { sid: body.sid, client_secret: 'add', auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: user.password } },
    });
    assert.equal(added.status, 200);
    return user;
  }

  it('resets a forgotten password through the mailed link, signing every session out', async () => {
    const alice = await userWithEmail('alice@example.org');
    const page = await suite.open('alice');
    await page.getByRole('button', { name: 'Forgot password?' }).click();
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    assert.equal(await page.getByLabel('Server').inputValue(), srv.url);

    // An address no account has: said plainly (this server tells; the text after sending does not).
    await page.getByLabel('Email address').fill('nobody@example.org');
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('alert').filter({ hasText: 'No account on this server has that email address.' }).waitFor();
    await screenshot(page, '40-forgot-password-unknown');

    await page.getByLabel('Email address').fill('alice@example.org');
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await page.getByText('If alice@example.org is the address of an account on this server, a link is on its way.').waitFor();
    const first = await linkMailedTo('alice@example.org');
    await screenshot(page, '41-forgot-password-check-email');

    // Setting the password before the link was opened says what to do.
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('alert').filter({ hasText: 'Open the link in the email sent to alice@example.org first' }).waitFor();

    // The mail again: a new link (the first one stops working); once more is over the limit.
    await page.getByRole('button', { name: 'Send the email again' }).click();
    await page.getByRole('status').filter({ hasText: 'A new link was sent to alice@example.org' }).waitFor();
    const second = await linkMailedTo('alice@example.org');
    assert.notEqual(second, first);
    await page.getByRole('button', { name: 'Send the email again' }).click();
    await page.getByRole('alert').filter({ hasText: /Too many reset emails were asked for\. Try again in about \d+ minutes\./ }).waitFor();
    await screenshot(page, '42-forgot-password-rate-limited');

    // The user opens the link from the mail (a new tab), then returns to the app.
    const mailTab = await page.context().newPage();
    assert.equal((await mailTab.goto(first))?.status(), 400, 'the replaced link no longer works');
    const res = await mailTab.goto(second);
    assert.equal(res?.status(), 200);
    await mailTab.getByRole('heading', { name: 'Email address confirmed' }).waitFor();
    await screenshot(mailTab, '43-forgot-password-link-opened');
    await mailTab.close();

    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('heading', { name: 'Welcome back' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Your password was changed and every session was signed out.' }).waitFor();
    await screenshot(page, '44-forgot-password-done');
    const old = await srv.request('GET', '/_matrix/client/v3/account/whoami', { token: alice.access_token });
    assert.equal(old.body.errcode, 'M_UNKNOWN_TOKEN', 'the other sessions were signed out');

    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Chats' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('whisper.passwordReset')), null, 'nothing is left pending');
    assert.deepEqual(opened.problems(page), []);
  });
});
