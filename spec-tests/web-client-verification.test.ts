/**
 * Verification in the web client, in Chromium against a real server. Alice verifies Bob from
 * their DM's header: Bob accepts the request's toast, both pages show the same seven emojis,
 * both say they match, and each then shows the other with a verified shield. Then Alice signs
 * in on a second session: it is flagged unverified (toast, Settings → Sessions) until her first
 * session verifies it the same way; after that it trusts Bob through her identity without
 * verifying him itself. A third session is verified by the recovery key instead. Screenshots go
 * to spec-tests/artifacts.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot, shownRecoveryKey, webClientSuite } from './browser.ts';
import type { TestUser } from './harness.ts';

describe('web client in Chromium: verifying people and sessions with emojis', function () {
  this.timeout(120_000);
  const { srv, opened, signIn } = webClientSuite('failed-verification-');
  let aliceUser: TestUser;
  let bobUser: TestUser;
  let alice: Page;
  let bob: Page;

  before(async () => {
    aliceUser = await srv().register('alice');
    bobUser = await srv().register('bob');
    // Whisper lets only friends start DMs by default; this test is about verification, not friends.
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: bobUser.access_token, body: { dm_from: 'everyone' } });
  });

  /** How busy the page's scripts are while nothing happens (CDP's ScriptDuration over one second). */
  async function scriptSecondsPerSecond(page: Page): Promise<number> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const scriptTime = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ScriptDuration')!.value;
    const before = await scriptTime();
    await new Promise((r) => setTimeout(r, 1000));
    const spent = (await scriptTime()) - before;
    await cdp.detach();
    return spent;
  }

  const emojis = (page: Page) => page.getByRole('list', { name: 'Emojis to compare' }).locator('li').allInnerTexts();

  /** Both pages compare the emojis (the same seven), both say they match, both show it verified. */
  async function compareAndMatch(a: Page, b: Page, shot: string): Promise<void> {
    for (const page of [a, b]) await page.getByRole('list', { name: 'Emojis to compare' }).waitFor({ timeout: 30_000 });
    const [shownA, shownB] = [await emojis(a), await emojis(b)];
    assert.equal(shownA.length, 7);
    assert.ok(shownA.every((e) => /\S+\s+\w/.test(e)), `each emoji with its name: ${JSON.stringify(shownA)}`);
    assert.deepEqual(shownA, shownB, 'the same emojis, in the same order, on both pages');
    await screenshot(a, `${shot}-emojis`);
    await a.getByRole('button', { name: 'They match' }).click();
    await a.getByRole('status').filter({ hasText: 'to confirm' }).waitFor();
    await b.getByRole('button', { name: 'They match' }).click();
    for (const page of [a, b]) await page.getByRole('status').filter({ hasText: 'Verified' }).waitFor({ timeout: 30_000 });
    await screenshot(b, `${shot}-verified`);
    for (const page of [a, b]) await page.getByRole('button', { name: 'Done' }).click();
  }

  it('alice verifies bob from their DM: same emojis on both pages, then each shows the other verified', async () => {
    alice = await signIn('alice', aliceUser);
    bob = await signIn('bob', bobUser);
    await alice.getByRole('button', { name: 'Start a direct message' }).click();
    await alice.getByLabel('Username or user id').fill('bob');
    await alice.getByRole('button', { name: 'Open DM' }).click();
    await alice.getByRole('img', { name: 'End-to-end encrypted' }).waitFor();
    await bob.locator('nav a.room', { hasText: 'alice' }).click();
    await bob.getByRole('button', { name: 'Accept' }).click();
    await bob.getByRole('log', { name: 'Messages' }).waitFor();

    await alice.getByRole('button', { name: 'Verify bob' }).click({ timeout: 20_000 });
    await alice.getByRole('dialog', { name: 'Verify bob' }).getByText('Waiting for bob to accept').waitFor();
    const request = bob.getByRole('dialog', { name: 'Verification request' });
    await request.getByText('alice wants to verify you').waitFor({ timeout: 20_000 });
    await screenshot(bob, '50-verification-request');
    await request.getByRole('button', { name: 'Accept' }).click();
    await compareAndMatch(alice, bob, '51-verify-bob');

    await alice.getByRole('img', { name: 'bob is verified' }).waitFor({ timeout: 20_000 });
    await bob.getByRole('img', { name: 'alice is verified' }).waitFor({ timeout: 20_000 });
    assert.equal(await alice.getByRole('button', { name: 'Verify bob' }).count(), 0);
    // The request stays in the chat as a line, not as the sdk's fallback text.
    await bob.getByText('alice asked to verify bob').waitFor();
    assert.equal(await bob.getByText('does not support').count(), 0);
    await screenshot(alice, '52-bob-verified');
  });

  it('a new session of alice is flagged unverified until her first session verifies it', async () => {
    const laptop = await signIn('alice-laptop', aliceUser);
    const toast = laptop.getByRole('region', { name: 'Verify this session' });
    await toast.waitFor({ timeout: 20_000 });
    await laptop.getByRole('link', { name: 'Settings' }).click();
    const thisDevice = laptop.locator('li.device', { hasText: 'this device' });
    await thisDevice.getByText('Unverified').waitFor();
    await screenshot(laptop, '53-unverified-session');

    await toast.getByRole('button', { name: 'Verify with another session' }).click();
    const request = alice.getByRole('dialog', { name: 'Verify your new session' });
    await request.waitFor({ timeout: 20_000 });
    await request.getByRole('button', { name: 'Accept' }).click();
    await compareAndMatch(laptop, alice, '54-verify-session');

    await thisDevice.getByText('Verified', { exact: true }).waitFor({ timeout: 20_000 });
    assert.equal(await toast.count(), 0, 'the toast is gone');
    await alice.getByRole('link', { name: 'Settings' }).click();
    const laptopId = await laptop.evaluate(() => JSON.parse(localStorage.getItem('whisper.session')!).deviceId as string);
    await alice.locator('li.device', { hasText: laptopId }).getByText('Verified', { exact: true }).waitFor({ timeout: 20_000 });
    await screenshot(alice, '55-sessions-verified');
    // The trust tags are looked up in the background: once known the page is idle (no redraw loop),
    // also for the session the test registered, which has no keys.
    const busy = await scriptSecondsPerSecond(alice);
    assert.ok(busy < 0.1, `the settings page settles: ${busy.toFixed(2)} s of script per second`);

    // The laptop now holds alice's signing keys (sent by the first session): it trusts bob as she does.
    await laptop.locator('nav a.room', { hasText: 'bob' }).click();
    await laptop.getByRole('img', { name: 'bob is verified' }).waitFor({ timeout: 20_000 });

  });

  it('a session given the recovery key is verified without another session', async () => {
    await alice.getByRole('button', { name: 'Set up secure backup' }).click();
    const recoveryKey = await shownRecoveryKey(alice);
    await alice.getByRole('button', { name: 'I have saved it' }).click();

    const phone = await signIn('alice-phone', aliceUser);
    const toast = phone.getByRole('region', { name: 'Verify this session' });
    await toast.getByRole('button', { name: 'Use recovery key' }).click({ timeout: 20_000 });
    await phone.getByLabel('Recovery key').fill(recoveryKey);
    await phone.getByRole('button', { name: 'Restore' }).click();
    await phone.getByRole('status').filter({ hasText: 'Keys restored' }).waitFor({ timeout: 30_000 });
    const thisDevice = phone.locator('li.device', { hasText: 'this device' });
    await thisDevice.getByText('Verified', { exact: true }).waitFor({ timeout: 20_000 });
    assert.equal(await toast.count(), 0);
    await thisDevice.scrollIntoViewIfNeeded();
    await screenshot(phone, '56-verified-by-recovery-key');

    const seen = opened.pages.flatMap(([, p]) => opened.problems(p));
    assert.deepEqual(seen, [], 'no console errors, exceptions or CSP violations');
  });
});
