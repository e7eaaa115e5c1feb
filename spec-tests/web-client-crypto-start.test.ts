/**
 * Encryption starting late in the web client, in Chromium against a real server: the page's
 * request for the crypto WASM is held back, and still the rooms and the timeline are drawn and
 * the composer is there (crypto starts once the first sync's rooms are drawn, not before the sync). Once the WASM
 * arrives, crypto starts and uploads this new device's keys, and a message Bob encrypts for it
 * is read. After a reload with the WASM held again, that message comes from the sync (still
 * encrypted) before crypto runs: it waits for its key and is decrypted once crypto is up.
 */
import '../client/src/state/sdkLogLevel.ts';
import assert from 'node:assert/strict';
import type { MatrixClient } from 'matrix-js-sdk';
import type { Page, Route } from 'playwright-core';
import { screenshot, webClientSuite } from './browser.ts';
import type { TestUser } from './harness.ts';
import { startSdk, until } from './sdkHelpers.ts';

/** Holds the page's crypto WASM requests until `release`. */
function holdWasm(page: Page): { held: () => number; release: () => void } {
  let held = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  void page.route('**/*.wasm', async (route: Route) => {
    held++;
    await released;
    await route.continue();
  });
  return { held: () => held, release };
}

describe('web client in Chromium: the timeline before encryption has started', function () {
  this.timeout(120_000);
  const { srv, opened, open } = webClientSuite('failed-crypto-start-');
  let aliceUser: TestUser;
  let bob: MatrixClient | undefined;
  after(() => bob?.stopClient());

  it('draws an encrypted DM while the crypto WASM is held, then decrypts once crypto runs, also after a reload', async () => {
    aliceUser = await srv().register('alice');
    const bobUser = await srv().register('bob');
    await srv().request('PUT', '/_whisper/client/v1/privacy', { token: aliceUser.access_token, body: { dm_from: 'everyone' } });
    bob = await startSdk(srv(), bobUser, { crypto: true });
    const { room_id: roomId } = await bob.createRoom({
      is_direct: true, invite: [aliceUser.user_id], name: 'plans', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    const join = await srv().request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: aliceUser.access_token, body: {} });
    assert.equal(join.status, 200);
    await until('bob sees alice join', () => bob!.getRoom(roomId)?.getMember(aliceUser.user_id)?.membership === 'join');
    // Sent before this browser's device exists: it never gets this key (no backup), and shows so.
    await bob.sendTextMessage(roomId, 'before your new laptop');

    let wasm = { held: () => 0, release: () => {} };
    const page = await open('alice', (p) => { wasm = holdWasm(p); });
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(aliceUser.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('nav a.room', { hasText: 'plans' }).click();
    await page.getByRole('log', { name: 'Messages' }).waitFor();
    // Bob's message is there, not yet decrypted: crypto has not started.
    await page.locator('.body.undecrypted', { hasText: 'Decrypting…' }).waitFor();
    await page.locator('#composer-input').waitFor();
    await until('the page has asked for the crypto WASM, and waits for it', () => wasm.held() >= 1);
    const deviceId = await page.evaluate(() => JSON.parse(localStorage.getItem('whisper.session')!).deviceId as string);
    const keys = async () => (await srv().request('POST', '/_matrix/client/v3/keys/query', { token: bobUser.access_token, body: { device_keys: { [aliceUser.user_id]: [] } } })).body.device_keys?.[aliceUser.user_id] ?? {};
    assert.equal((await keys())[deviceId], undefined, 'no device keys before crypto has started');
    await screenshot(page, '46-timeline-before-crypto');

    // The WASM arrives: crypto starts, uploads the device's keys, and reads what Bob encrypts for it.
    wasm.release();
    // The message that came before crypto is tried once it runs: this device never got its key.
    await page.locator('.body.undecrypted', { hasText: 'Waiting for the key to this message…' }).waitFor({ timeout: 30_000 });
    await until('the new device uploads its keys', async () => (await keys())[deviceId], 30_000);
    await until('bob knows the new device', async () => (await bob!.getCrypto()!.getUserDeviceInfo([aliceUser.user_id], true)).get(aliceUser.user_id)?.has(deviceId), 20_000);
    await bob.sendTextMessage(roomId, 'meet at the station at six');
    await page.locator('article.message', { hasText: 'meet at the station at six' }).waitFor({ timeout: 20_000 });

    // A reload with the WASM held again: the message comes with the first sync, before crypto can
    // read it; it waits for its key, and is decrypted once crypto runs.
    await page.unroute('**/*.wasm');
    const again = holdWasm(page);
    const beforeReload = opened.problems(page).length;
    await page.reload();
    // Requests the reload itself cut off (crypto may be fetching keys at that moment) are the
    // test's doing, not the app's; only those reported while it reloaded are excused.
    const cutOff = new Set(opened.problems(page).slice(beforeReload).filter((p) => p.endsWith('net::ERR_ABORTED')));
    await page.getByRole('log', { name: 'Messages' }).waitFor();
    await until('both messages drawn, not yet decrypted', async () => (await page.locator('.body.undecrypted', { hasText: 'Decrypting…' }).count()) === 2);
    assert.equal(await page.locator('article.message', { hasText: 'meet at the station at six' }).count(), 0);
    await until('the page asks for the crypto WASM again, and waits for it', () => again.held() >= 1);
    again.release();
    await page.locator('article.message', { hasText: 'meet at the station at six' }).waitFor({ timeout: 20_000 });
    await page.locator('.body.undecrypted', { hasText: 'Waiting for the key to this message…' }).waitFor();
    assert.equal(await page.locator('.body.undecrypted').count(), 1, 'the message from before this device still waits for its key');
    const problems = opened.problems(page).filter((p) => !cutOff.has(p));
    assert.deepEqual(problems, [], 'no console errors, exceptions or CSP violations');
  });
});
