/**
 * The web client in a real browser against a real server: two people in two browser contexts
 * register (the second with an invite code), start a DM, and chat — live delivery with an
 * unread badge, Markdown, edit, reply, reaction, typing, read receipt, an image upload with
 * its preview, search, settings. Screenshots of each screen go to spec-tests/artifacts.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import type { TestServer } from './harness.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import http from 'node:http';
import zlib from 'node:zlib';
import { DIST } from '../client/build.ts';
import { screenshot, webClientSuite } from './browser.ts';

const PASSWORD = 'correct horse battery staple';

describe('web client in Chromium', function () {
  this.timeout(90_000);
  const suite = webClientSuite('failed-', () => ({ registration: 'invite' }));
  const opened = suite.opened;
  let srv: TestServer;
  const pages = opened.pages;
  const requested: string[] = [];
  before(() => { srv = suite.srv(); });

  const openPage = (label: string) => suite.open(label, (page) => page.on('request', (req) => requested.push(req.url())));


  async function register(page: Page, username: string, inviteCode?: string, shot?: string): Promise<void> {
    await page.getByRole('tab', { name: 'Create account' }).click();
    assert.equal(await page.getByLabel('Server').inputValue(), srv.url, 'the server field defaults to the origin that served the app');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    if (inviteCode) await page.getByLabel('Invite code').fill(inviteCode);
    if (shot) await screenshot(page, shot);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('navigation', { name: 'Chats' }).waitFor();
  }

  const message = (page: Page, text: string) => page.locator('article.message', { hasText: text });

  it('serves the bundle with a CSP, no-cache index and immutable hashed assets', async () => {
    const res = await fetch(srv.url + '/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`connect-src 'self' ${srv.url.replace(/[.]/g, '\\.')} ws://`));
    assert.match(csp, /img-src 'self' blob: data:/);
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/);
    const html = await res.text();
    const script = html.match(/src="(\/assets\/app-[A-Z0-9]+\.js)"/)?.[1];
    assert.ok(script, html);
    const js = await fetch(srv.url + script);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    const again = await fetch(srv.url + script, { headers: { 'If-Modified-Since': js.headers.get('last-modified')!, 'Cache-Control': 'max-age=0' } });
    assert.equal(again.status, 304);
    const wasm = await fetch(srv.url + '/assets/pkg/matrix_sdk_crypto_wasm_bg.wasm');
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.equal(wasm.headers.get('cache-control'), 'no-cache', 'the WASM keeps its package name, so it is revalidated');
    await wasm.body?.cancel();
    assert.equal((await fetch(srv.url + '/assets/..%2Fpackage.json')).status, 404);
    assert.equal((await fetch(srv.url + '/assets/nope/app.js')).status, 404);
  });

  it('sends the script and the crypto WASM brotli- or gzip-compressed to browsers that take it, the same bytes unpacked', async () => {
    const html = await (await fetch(srv.url + '/')).text();
    const script = html.match(/src="(\/assets\/app-[A-Z0-9]+\.js)"/)![1];
    for (const asset of [script, '/assets/pkg/matrix_sdk_crypto_wasm_bg.wasm']) {
      const plain = await rawGet(srv.url + asset, undefined);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.match(String(plain.headers.vary), /Accept-Encoding/i);
      const br = await rawGet(srv.url + asset, 'gzip, deflate, br');
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(Number(br.headers['content-length']), br.body.length);
      assert.ok(br.body.length < plain.body.length / 3, `${asset}: ${br.body.length} of ${plain.body.length}`);
      assert.ok(zlib.brotliDecompressSync(br.body).equals(plain.body));
      const gz = await rawGet(srv.url + asset, 'gzip');
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.ok(zlib.gunzipSync(gz.body).equals(plain.body));
      // br;q=0 is a refusal.
      assert.equal((await rawGet(srv.url + asset, 'br;q=0, gzip')).headers['content-encoding'], 'gzip');
    }
  });

  it('two people register, DM, and chat live: badge, Markdown, edit, reply, reaction, typing, receipts, image, search', async () => {
    const alice = await openPage('alice');
    await screenshot(alice, '01-sign-in');
    // What the first page load fetched: encryption starts only after sign-in.
    const firstLoad = [...requested];
    await register(alice, 'alice', undefined, '02-register');
    await alice.getByText('Start a conversation with a friend.').waitFor();
    await screenshot(alice, '03-home-empty');

    const { token } = await srv.hs.services.registrationTokens.create({});
    const bob = await openPage('bob');
    await register(bob, 'bob', token);
    // Whisper lets only friends start DMs by default; this test is about chat, not friends.
    const bobLogin = await srv.request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'bob', password: PASSWORD } });
    await srv.request('PUT', '/_whisper/client/v1/privacy', { token: bobLogin.body.access_token, body: { dm_from: 'everyone' } });

    // Alice starts a DM with Bob by user id.
    await alice.getByRole('button', { name: 'Start a direct message' }).click();
    await alice.getByLabel('Username or user id').fill('@bob:whisper.test');
    await screenshot(alice, '04-start-dm-dialog');
    await alice.getByRole('button', { name: 'Open DM' }).click();
    await alice.getByRole('log', { name: 'Messages' }).waitFor();

    // Bob sees the invitation in his sidebar and accepts it, then goes back home.
    const invite = bob.locator('nav a.room', { hasText: 'alice' });
    await invite.waitFor();
    assert.match(await invite.getAttribute('aria-label') ?? '', /invitation/);
    await invite.click();
    await bob.getByRole('button', { name: 'Accept' }).click();
    await bob.getByRole('log', { name: 'Messages' }).waitFor();
    await bob.getByRole('link', { name: 'Settings' }).click();
    await bob.getByRole('heading', { name: 'Settings' }).waitFor();

    // Alice writes (Markdown); it arrives live at Bob with an unread badge and a title count.
    await alice.locator('article.message, .state-notice', { hasText: 'bob joined' }).waitFor();
    const composerA = alice.locator('#composer-input');
    await composerA.fill('Hello **Bob**, welcome to Whisper');
    await composerA.press('Enter');
    const dmLink = bob.locator('nav a.room', { hasText: 'alice' });
    await dmLink.locator('.badge:not(.mention)', { hasText: '1' }).waitFor();
    // The message names Bob, so it is a mention too (push rules, evaluated by the server).
    await dmLink.locator('.badge.mention', { hasText: '@1' }).waitFor();
    assert.match(await dmLink.getAttribute('aria-label') ?? '', /1 unread, 1 mentions/);
    assert.equal(await bob.title(), '(1) Whisper');
    await screenshot(bob, '05-unread-badge-settings');

    // Bob opens it: the Markdown is rendered, the badge clears, Alice sees the read receipt.
    await dmLink.click();
    const first = message(bob, 'welcome to Whisper');
    await first.waitFor();
    assert.equal(await first.locator('.body strong').textContent(), 'Bob');
    // A "New" line sits right above what was unread.
    assert.equal(await bob.locator('.new-divider + article.message').getAttribute('data-event-id'), await first.getAttribute('data-event-id'));
    await dmLink.locator('.badge').first().waitFor({ state: 'detached' });
    await bob.waitForFunction(() => document.title === 'Whisper');
    await message(alice, 'welcome to Whisper').locator('.read-by', { hasText: 'Seen by bob' }).waitFor();

    // Typing shows up on the other side.
    const composerB = bob.locator('#composer-input');
    await composerB.pressSequentially('typing…', { delay: 5 });
    await alice.locator('.typing', { hasText: 'bob is typing' }).waitFor();
    await composerB.fill('');

    // Alice edits her message (hover toolbar); Bob sees the new text marked edited.
    await message(alice, 'welcome to Whisper').hover();
    await message(alice, 'welcome to Whisper').getByRole('button', { name: 'Edit' }).click();
    await composerA.fill('Hello **Bob**, welcome to Whisper (edited text)');
    await composerA.press('Enter');
    const edited = message(bob, 'edited text');
    await edited.locator('.edited').waitFor();
    assert.equal(await bob.locator('article.message', { hasText: 'welcome to Whisper' }).count(), 1, 'the edit replaces the message, it is not a second one');

    // Bob replies; Alice sees the reply with its quote.
    await edited.hover();
    await edited.getByRole('button', { name: 'Reply' }).click();
    await bob.locator('.composer-context', { hasText: 'Replying to' }).waitFor();
    await composerB.fill('Thanks, glad to be here');
    await composerB.press('Enter');
    const reply = message(alice, 'glad to be here');
    await reply.locator('.reply-quote', { hasText: 'welcome to Whisper' }).waitFor();

    // Alice reacts to the reply; Bob sees the reaction.
    await reply.hover();
    await reply.getByRole('button', { name: 'Add reaction' }).click();
    await reply.getByRole('menuitem', { name: 'react with 👍' }).click();
    await message(bob, 'glad to be here').locator('.reaction', { hasText: '👍' }).waitFor();
    assert.equal(await message(bob, 'glad to be here').locator('.reaction .count').textContent(), '1');

    // Bob sends an image: progress, then a preview on both sides from an authenticated download.
    const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 88, g: 101, b: 242 } } }).png().toBuffer();
    await bob.getByLabel('Attach files').setInputFiles({ name: 'screenshot.png', mimeType: 'image/png', buffer: png });
    const preview = alice.locator('article.message img.preview[alt="screenshot.png"]');
    await preview.waitFor();
    assert.match(await preview.getAttribute('src') ?? '', /^blob:/);
    const natural = await preview.evaluate((img: HTMLImageElement) => img.complete ? img.naturalWidth : new Promise((r) => { img.onload = () => r(img.naturalWidth); }));
    assert.equal(natural, 320);
    await bob.locator('article.message img.preview').waitFor();
    await screenshot(alice, '06-dm-timeline');
    await screenshot(bob, '07-dm-timeline-bob');

    // Search finds the edited message.
    await alice.getByRole('button', { name: 'Search messages' }).click();
    await alice.getByRole('searchbox', { name: 'Search this chat' }).fill('glad');
    await alice.getByRole('searchbox', { name: 'Search this chat' }).press('Enter');
    await alice.locator('.search-results li', { hasText: 'glad to be here' }).waitFor();
    await screenshot(alice, '08-search');

    // Bob deletes his reply (after confirming); Alice sees it go.
    bob.once('dialog', (d) => void d.accept());
    await message(bob, 'glad to be here').hover();
    await message(bob, 'glad to be here').getByRole('button', { name: 'Delete' }).click();
    await alice.locator('article.message .body.redacted').waitFor();
    assert.equal(await message(alice, 'glad to be here').count(), 0);

    // A group chat with an invite, and the settings screen.
    await alice.getByRole('button', { name: 'Create a group chat' }).click();
    await alice.getByLabel('Group name').fill('Game night');
    await alice.getByLabel(/People to invite/).fill('bob');
    await alice.getByRole('button', { name: 'Create', exact: true }).click();
    await alice.getByRole('heading', { name: 'Game night' }).waitFor();
    await bob.locator('nav section[aria-label="Invites"] a.room', { hasText: 'Game night' }).waitFor();
    await alice.getByRole('link', { name: 'Settings' }).click();
    await alice.getByRole('heading', { name: 'Sessions' }).waitFor();
    await alice.locator('li.device', { hasText: 'this device' }).waitFor();
    await screenshot(alice, '09-settings');
    await screenshot(bob, '10-bob-invites');

    // Profile: a new display name and avatar show in the user panel.
    await alice.getByLabel('Display name').fill('Alice Liddell');
    await alice.getByRole('button', { name: 'Save', exact: true }).click();
    await alice.locator('.user-panel .display', { hasText: 'Alice Liddell' }).waitFor();
    const avatarPng = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 240, g: 160, b: 40 } } }).png().toBuffer();
    await alice.getByLabel('Change avatar').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: avatarPng });
    await alice.locator('.user-panel .avatar img[src^="blob:"]').waitFor();
    await screenshot(alice, '11-settings-profile');

    // A reload resumes Bob's saved session straight into the open chat.
    await bob.reload();
    await bob.getByRole('log', { name: 'Messages' }).waitFor();
    await message(bob, 'edited text').waitFor();

    // Signing out returns to the sign-in screen and ends the session on the server.
    const aliceToken = await alice.evaluate(() => JSON.parse(localStorage.getItem('whisper.session')!).accessToken as string);
    await alice.getByRole('button', { name: 'Sign out', exact: true }).last().click();
    await alice.getByRole('heading', { name: 'Welcome back' }).waitFor();
    assert.equal(await alice.evaluate(() => localStorage.getItem('whisper.session')), null);
    assert.equal(await alice.evaluate(() => localStorage.getItem('whisper.serverUrl')), srv.url, 'the server is remembered');
    const whoami = await srv.request('GET', '/_matrix/client/v3/account/whoami', { token: aliceToken });
    assert.equal(whoami.body.errcode, 'M_UNKNOWN_TOKEN');

    const seen = [...opened.problems(alice), ...opened.problems(bob)];
    assert.deepEqual(seen, [], 'no console errors, exceptions or CSP violations');
    // The sign-in page does not start encryption, and its crypto code is not part of the main bundle;
    // signing in starts it, fetching the crypto chunk and its WASM then.
    assert.equal(firstLoad.filter((u) => u.endsWith('.wasm')).length, 0);
    assert.ok(requested.some((u) => u.endsWith('/matrix_sdk_crypto_wasm_bg.wasm')), 'signed in, encryption started');
    const chunks = new Set(firstLoad.filter((u) => /\/assets\/.*\.js$/.test(u)).map((u) => new URL(u).pathname));
    // The lazy chunks (Rust crypto, the QR code library) are the ones holding those packages.
    const meta = JSON.parse(await readFile(path.join(DIST, 'meta.json'), 'utf8')) as { outputs: Record<string, { bytes: number; inputs: Record<string, unknown> }> };
    const lazy = Object.entries(meta.outputs)
      .filter(([, o]) => Object.keys(o.inputs).some((i) => /matrix-sdk-crypto-wasm|node_modules\/qrcode\//.test(i)))
      .map(([file]) => `/assets/${path.basename(file)}`);
    assert.ok(lazy.length >= 2, 'the crypto and QR code chunks are split out');
    assert.deepEqual([...chunks].filter((c) => lazy.includes(c)), [], `the page does not load the lazy chunks: ${[...chunks].join(' ')}`);
    // Besides the entry and the chunk it shares with the lazy code, only small pieces esbuild
    // splits off load first: its runtime, modules the entry shares with a lazy chunk (the mute rule).
    const bytesOf = (chunk: string) => Object.entries(meta.outputs).find(([file]) => file.endsWith(chunk.slice('/assets'.length)))?.[1].bytes ?? Infinity;
    const big = [...chunks].filter((c) => bytesOf(c) > 4096);
    assert.ok(big.length <= 2, `only the entry and its shared chunk are big: ${big.join(' ')} of ${[...chunks].join(' ')}`);
  });

  it('works from the keyboard: skip link to the composer, Enter sends, Up edits, Alt+Down changes chat', async () => {
    const bob = pages.find(([label]) => label === 'bob')![1];
    const dmUrl = bob.url();
    await bob.locator('body').focus();
    await bob.keyboard.press('Tab');
    assert.equal(await bob.evaluate(() => document.activeElement?.textContent), 'Skip to message box');
    await bob.keyboard.press('Enter');
    assert.equal(await bob.evaluate(() => document.activeElement?.id), 'composer-input');
    assert.equal(bob.url(), dmUrl, 'the skip link does not disturb the route');
    await bob.keyboard.type('sent from the keyboard');
    await bob.keyboard.press('Enter');
    await message(bob, 'sent from the keyboard').waitFor();
    await bob.keyboard.press('ArrowUp');
    await bob.locator('.composer-context', { hasText: 'Editing message' }).waitFor();
    assert.equal(await bob.locator('#composer-input').inputValue(), 'sent from the keyboard');
    await bob.keyboard.press('Escape');
    await bob.locator('.composer-context').waitFor({ state: 'detached' });
    await bob.keyboard.press('Alt+ArrowDown');
    await bob.waitForFunction((before) => location.href !== before, dmUrl);
    await bob.getByRole('button', { name: 'Accept' }).waitFor();
    await bob.keyboard.press('Alt+ArrowUp');
    await bob.waitForFunction((before) => location.href === before, dmUrl);
    assert.deepEqual(opened.problems(bob), []);
  });
});

/** A GET as it comes off the wire (fetch would unpack it), with the Accept-Encoding given. */
function rawGet(url: string, acceptEncoding: string | undefined): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}
