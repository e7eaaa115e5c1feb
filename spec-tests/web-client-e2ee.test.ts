/**
 * End-to-end encryption in the web client, in Chromium against a real server: a new DM is
 * encrypted (lock in the header), each side reads the other while the server stores only
 * m.room.encrypted; secure backup is set up in Settings (recovery key shown once); a second
 * session of the same user sees "waiting for the key" until it enters the recovery key, then
 * reads the history (also after a reload); a third, whose user lost the key, resets the backup
 * after the password asked through the UIA prompt. Pictures and files sent in the DM are
 * encrypted in the browser: the server keeps ciphertext, the other side (and a client on
 * Element's own stack) opens them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { decryptAttachment } from 'matrix-encrypt-attachment';
import sharp from 'sharp';
import type { Locator, Page } from 'playwright-core';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { TestServer } from './harness.ts';
import { screenshot, shownRecoveryKey, webClientSuite } from './browser.ts';
import { startSdk, until } from './sdkHelpers.ts';

const PASSWORD = 'correct horse battery staple';
(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

describe('web client in Chromium: end-to-end encryption', function () {
  this.timeout(120_000);
  const suite = webClientSuite('failed-e2ee-');
  const { opened } = suite;
  let srv: TestServer;
  before(() => {
    srv = suite.srv();
  });

  // "Reset secure backup" asks "are you sure?".
  const openPage = (label: string) => suite.open(label, (page) => page.on('dialog', (d) => void d.accept()));

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

  /** Raw bytes the server keeps for `mxc`, as any client would download them. */
  async function stored(mxc: string, token: string): Promise<Buffer> {
    const res = await fetch(`${srv.url}/_matrix/client/v1/media/download/${mxc.slice('mxc://'.length)}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  }

  /** The natural size of a drawn picture and the colour of its centre pixel. */
  const centrePixel = (img: Locator) => img.evaluate(async (el: HTMLImageElement) => {
    if (!el.complete) await new Promise((r) => { el.onload = r; });
    const ctx = new OffscreenCanvas(el.naturalWidth, el.naturalHeight).getContext('2d')!;
    ctx.drawImage(el, 0, 0);
    const rgb = Array.from(ctx.getImageData(el.naturalWidth >> 1, el.naturalHeight >> 1, 1, 1).data.slice(0, 3));
    return { w: el.naturalWidth, h: el.naturalHeight, rgb };
  });

  /**
   * Bob's pictures and files in the encrypted DM are encrypted in his browser (EncryptedFile):
   * the server keeps ciphertext only, Alice's page shows them decrypted (a big picture from the
   * encrypted thumbnail Bob's browser made), and a client on Element's own stack (matrix-js-sdk
   * with Rust crypto, matrix-encrypt-attachment) opens them too.
   */
  async function attachmentsAreEncrypted(alice: Page, bob: Page, aliceToken: string, roomId: string): Promise<void> {
    const login = await srv.request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: PASSWORD } });
    assert.equal(login.status, 200);
    // Bob's browser encrypts for the devices it knows: wait until it has fetched this new
    // one's keys (after alice's device list changed in its sync), or the picture may be sent
    // before it, and only a key-sharing request would let the new device read it.
    const newDevice = login.body.device_id as string;
    const bobKnows = bob.waitForResponse(async (r) => {
      if (!r.url().endsWith('/_matrix/client/v3/keys/query')) return false;
      const body = (await r.json().catch(() => ({}))) as { device_keys?: Record<string, Record<string, unknown>> };
      return Boolean(body.device_keys?.[login.body.user_id]?.[newDevice]);
    }, { timeout: 30_000 });
    bobKnows.catch(() => {}); // awaited below; not an unhandled rejection if the login fails first
    const element = await startSdk(srv, { ...login.body, password: PASSWORD }, { crypto: true });
    try {
      await bobKnows;
      const uploads: { contentUri: string; type: string | null }[] = [];
      bob.on('response', (res) => {
        if (!res.url().includes('/_matrix/media/v3/upload')) return;
        const type = res.request().headers()['content-type'] ?? null;
        void res.json().then((b: { content_uri: string }) => uploads.push({ contentUri: b.content_uri, type }));
      });
      const small = await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
      await bob.getByLabel('Attach files').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: small });
      const preview = alice.locator('article.message img.preview[alt="red.png"]');
      await preview.waitFor({ timeout: 20_000 });
      // What Alice's page shows is Bob's picture (its size and colour; the page's CSP keeps even tests from fetching blob: URLs).
      assert.deepEqual(await centrePixel(preview), { w: 320, h: 200, rgb: [200, 40, 90] });

      // A big picture is shown from a thumbnail that Bob's browser made and encrypted too.
      const wide = await sharp({ create: { width: 2400, height: 1200, channels: 3, background: { r: 30, g: 160, b: 70 } } }).png().toBuffer();
      await bob.getByLabel('Attach files').setInputFiles({ name: 'wide.png', mimeType: 'image/png', buffer: wide });
      const widePreview = alice.locator('article.message img.preview[alt="wide.png"]');
      await widePreview.waitFor({ timeout: 20_000 });
      assert.deepEqual(await centrePixel(widePreview), { w: 800, h: 400, rgb: [30, 160, 70] });
      await screenshot(alice, '45-encrypted-images');

      // The server has three uploads (two pictures, one thumbnail), all opaque ciphertext.
      await until('three uploads', () => uploads.length === 3);
      for (const { contentUri, type } of uploads) {
        assert.equal(type, 'application/octet-stream');
        const bytes = await stored(contentUri, aliceToken);
        assert.ok(!bytes.subarray(0, 8).equals(small.subarray(0, 8)), 'no PNG on the server');
      }
      const smallStored = await stored(uploads[0].contentUri, aliceToken);
      assert.equal(smallStored.length, small.length);
      assert.ok(!smallStored.equals(small));

      // The spec's EncryptedFile, as Element reads it.
      const ev = await until('the Element-stack client decrypted the picture', () => element.getRoom(roomId)?.getLiveTimeline().getEvents()
        .find((e) => e.getType() === 'm.room.message' && e.getContent().body === 'red.png'), 20_000);
      const content = ev.getContent();
      assert.equal(content.msgtype, 'm.image');
      assert.equal(content.url, undefined);
      assert.equal(content.info.mimetype, 'image/png');
      assert.equal(content.file.v, 'v2');
      assert.deepEqual({ alg: content.file.key.alg, kty: content.file.key.kty, ext: content.file.key.ext }, { alg: 'A256CTR', kty: 'oct', ext: true });
      assert.ok(content.file.key.key_ops.includes('decrypt'));
      const plain = await decryptAttachment(new Uint8Array(await stored(content.file.url, aliceToken)).buffer, content.file);
      assert.deepEqual(Buffer.from(plain), small);

      // A plain file: the download is the decrypted file.
      const notes = Buffer.from('bring the tent and two torches\n');
      // Held back a moment on its way, so the progress bar is seen (encryption comes before the upload).
      await bob.route('**/_matrix/media/v3/upload**', async (route) => { await new Promise((r) => setTimeout(r, 1500)); await route.continue(); });
      await bob.getByLabel('Attach files').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: notes });
      await bob.getByRole('progressbar', { name: 'uploading notes.txt' }).waitFor();
      await bob.getByRole('progressbar', { name: 'uploading notes.txt' }).waitFor({ state: 'detached', timeout: 20_000 });
      await bob.unroute('**/_matrix/media/v3/upload**');
      const [download] = await Promise.all([
        alice.waitForEvent('download'),
        alice.getByRole('button', { name: 'Download notes.txt' }).click({ timeout: 20_000 }),
      ]);
      assert.equal(download.suggestedFilename(), 'notes.txt');
      const path = await download.path();
      assert.deepEqual(await readFile(path), notes);
    } finally {
      element.stopClient();
    }
  }

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

    await attachmentsAreEncrypted(alice, bob, aliceToken, roomId);

    // Secure backup: the recovery key is shown once (a first identity needs no password).
    await openSettings(alice);
    await alice.getByRole('button', { name: 'Set up secure backup' }).click();
    const recoveryKey = await shownRecoveryKey(alice);
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
    const newKey = await shownRecoveryKey(alice3);
    assert.match(newKey, /^(\w{4} ){11}\w{4}$/);
    assert.notEqual(newKey, recoveryKey);

    const seen = [alice, bob, alice2, alice3].flatMap((p) => opened.problems(p));
    assert.deepEqual(seen, [], 'no console errors, exceptions or CSP violations');
  });
});
