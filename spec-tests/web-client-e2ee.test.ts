/**
 * End-to-end encryption in the web client, in Chromium against a real server: a new DM is
 * encrypted (lock in the header), each side reads the other while the server stores only
 * m.room.encrypted; secure backup is set up in Settings (recovery key shown once); a second
 * session of the same user sees "waiting for the key" until it enters the recovery key, then
 * reads the history (also after a reload); a third, whose user lost the key, resets the backup
 * after the password asked through the UIA prompt.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { backends, startTestServer, type TestServer } from './harness.ts';
import { buildClient, isStale } from '../client/build.ts';
import { BrowserPages, chromiumMissing, launchChromium, screenshot } from './browser.ts';
import { until } from './sdkHelpers.ts';

const PASSWORD = 'correct horse battery staple';

describe('web client in Chromium: end-to-end encryption', function () {
  this.timeout(120_000);
  let srv: TestServer;
  let browser: Browser;
  const opened = new BrowserPages('failed-e2ee-');

  before(async function () {
    const missing = chromiumMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    if (await isStale()) await buildClient();
    srv = await startTestServer(backends()[0]);
    browser = await launchChromium();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    await opened.recordFailure();
  });

  after(async () => {
    await opened.close();
    await browser?.close();
    await srv?.close();
  });

  // "Reset secure backup" asks "are you sure?".
  const openPage = (label: string) => opened.open(browser, srv.url, label, (page) => page.on('dialog', (d) => void d.accept()));

  async function signIn(page: Page, username: string, mode: 'Create account' | 'Sign in'): Promise<string> {
    await page.getByRole('tab', { name: mode }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: mode }).click();
    await page.getByRole('navigation', { name: 'Chats' }).waitFor();
    return page.evaluate(() => JSON.parse(localStorage.getItem('whisper.session')!).accessToken as string);
  }

  const message = (page: Page, text: string) => page.locator('article.message', { hasText: text });
  const openSettings = async (page: Page) => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Secure backup' }).waitFor();
  };

  it('an encrypted DM, secure backup, and a new session reading the history with the recovery key', async () => {
    const alice = await openPage('alice');
    const aliceToken = await signIn(alice, 'alice', 'Create account');
    const bob = await openPage('bob');
    const bobToken = await signIn(bob, 'bob', 'Create account');
    // Whisper lets only friends start DMs by default; this test is about encryption, not friends.
    await srv.request('PUT', '/_whisper/client/v1/privacy', { token: bobToken, body: { dm_from: 'everyone' } });

    await alice.getByRole('button', { name: 'Start a direct message' }).click();
    await alice.getByLabel('Username or user id').fill('bob');
    await alice.getByRole('button', { name: 'Open DM' }).click();
    await alice.getByRole('log', { name: 'Messages' }).waitFor();
    await alice.getByRole('img', { name: 'End-to-end encrypted' }).waitFor();
    const roomId = decodeURIComponent(new URL(alice.url()).hash.split('/').pop()!);

    await bob.locator('nav a.room', { hasText: 'alice' }).click();
    await bob.getByRole('button', { name: 'Accept' }).click();
    await bob.getByRole('log', { name: 'Messages' }).waitFor();
    await bob.getByRole('img', { name: 'End-to-end encrypted' }).waitFor();

    await alice.locator('#composer-input').fill('the spare key is under the blue pot');
    await alice.locator('#composer-input').press('Enter');
    await message(bob, 'the spare key is under the blue pot').waitFor({ timeout: 20_000 });
    await bob.locator('#composer-input').fill('thanks, see you at eight');
    await bob.locator('#composer-input').press('Enter');
    await message(alice, 'see you at eight').waitFor({ timeout: 20_000 });
    await screenshot(alice, '40-encrypted-dm');

    // The server holds ciphertext only.
    const stored = await srv.request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`, { token: aliceToken });
    assert.equal(stored.status, 200);
    const types = stored.body.chunk.map((e: { type: string }) => e.type);
    assert.equal(types.filter((t: string) => t === 'm.room.encrypted').length, 2);
    assert.ok(!types.includes('m.room.message'));
    assert.ok(!JSON.stringify(stored.body).includes('blue pot'), 'no plaintext on the server');

    // Secure backup: the recovery key is shown once (a first identity needs no password).
    await openSettings(alice);
    await alice.getByRole('button', { name: 'Set up secure backup' }).click();
    const recoveryKey = (await alice.getByLabel('Recovery key').textContent({ timeout: 30_000 }))!;
    assert.match(recoveryKey, /^(\w{4} ){11}\w{4}$/);
    await screenshot(alice, '41-recovery-key');
    await alice.getByRole('button', { name: 'I have saved it' }).click();
    await alice.getByText('Secure backup is on:').waitFor();
    await until('both room keys are in the backup', async () => {
      const v = await srv.request('GET', '/_matrix/client/v3/room_keys/version', { token: aliceToken });
      return v.status === 200 && v.body.count >= 2;
    }, 30_000);

    // A second session of Alice: the history is there but locked until she gives the recovery key.
    const alice2 = await openPage('alice-laptop');
    await signIn(alice2, 'alice', 'Sign in');
    await alice2.locator('nav a.room', { hasText: 'bob' }).click();
    await alice2.getByRole('log', { name: 'Messages' }).waitFor();
    await alice2.locator('.body.undecrypted', { hasText: 'Waiting for the key to this message…' }).first().waitFor({ timeout: 20_000 });
    assert.equal(await message(alice2, 'blue pot').count(), 0);
    await screenshot(alice2, '42-waiting-for-key');
    const dmUrl = alice2.url();

    await openSettings(alice2);
    await alice2.getByLabel('Recovery key').scrollIntoViewIfNeeded();
    await screenshot(alice2, '44-enter-recovery-key');
    await alice2.getByLabel('Recovery key').fill('EsTc 1jSb 7ZsE Mcbu Wz4n qkVz m8oQ 3hxv k5Xm nAXo v9Fo gm6Q');
    await alice2.getByRole('button', { name: 'Restore' }).click();
    await alice2.getByRole('alert').filter({ hasText: /recovery key|backup/ }).waitFor({ timeout: 20_000 });
    await alice2.getByLabel('Recovery key').fill(recoveryKey);
    await alice2.getByRole('button', { name: 'Restore' }).click();
    await alice2.getByRole('status').filter({ hasText: 'Keys restored' }).waitFor({ timeout: 30_000 });
    await alice2.goto(dmUrl);
    await message(alice2, 'the spare key is under the blue pot').waitFor({ timeout: 20_000 });
    await message(alice2, 'see you at eight').waitFor();
    assert.equal(await alice2.locator('.body.undecrypted').count(), 0);
    await screenshot(alice2, '43-history-restored');
    // The restored keys are in this session's IndexedDB crypto store: a reload still reads the history.
    await alice2.reload();
    await message(alice2, 'the spare key is under the blue pot').waitFor({ timeout: 20_000 });

    // A third session whose user lost the key resets the backup: that replaces her identity,
    // so the server asks her password, through the UIA prompt.
    const alice3 = await openPage('alice-phone');
    await signIn(alice3, 'alice', 'Sign in');
    await openSettings(alice3);
    await alice3.getByRole('button', { name: 'Lost your recovery key? Reset secure backup' }).click();
    await alice3.getByRole('dialog', { name: 'Confirm it’s you' }).waitFor({ timeout: 20_000 });
    await alice3.locator('#auth-prompt-input').fill(PASSWORD);
    await alice3.getByRole('button', { name: 'Continue' }).click();
    const newKey = (await alice3.getByLabel('Recovery key').textContent({ timeout: 30_000 }))!;
    assert.match(newKey, /^(\w{4} ){11}\w{4}$/);
    assert.notEqual(newKey, recoveryKey);

    const seen = [alice, bob, alice2, alice3].flatMap((p) => opened.problems(p));
    assert.deepEqual(seen, [], 'no console errors, exceptions or CSP violations');
  });
});
