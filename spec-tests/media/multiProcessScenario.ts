/**
 * Real media across two server processes, run INSIDE a network namespace made by
 * voice-multi-process.test.ts: one Janus of the test's own, two homeservers on one PostgreSQL
 * (reached through its Unix socket, which the namespace shares) that both use it, and headless
 * Chromium with fake microphones: Alice's signaling goes to server A, Bob's to server B. Prints
 * one JSON line: the feed lists each received (other process's users included), the audio
 * each heard, and who each saw speaking.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { stripTypeScriptTypes } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { buildConfig, uniformRateLimits } from '../../homeserver/config.ts';
import { backends, type TestServer, type TestUser } from '../harness.ts';
import { installed, startSharedJanus, startTestServerOn } from '../voiceHelpers.ts';

const MEDIA_DIR = path.resolve(import.meta.dirname, '../../client/src/media');
const log = (...args: unknown[]) => process.stderr.write(`[mp] ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
const PAGE = `<!doctype html><meta charset="utf-8"><body><script type="module">
import { VoiceConnection } from '/media/voiceConnection.ts';
window.VoiceConnection = VoiceConnection;
window.moduleReady = true;
</script>`;

async function servePages(): Promise<{ url: string; close(): void }> {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const m = /^\/media\/([a-zA-Z]+\.ts)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(stripTypeScriptTypes(await readFile(path.join(MEDIA_DIR, m[1]), 'utf8')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function main() {
  const pg = backends().find((b) => b.name === 'postgres')!;
  const janus = await startSharedJanus(installed('janus')!);
  const db = await pg.create();
  const config = () => buildConfig({
    port: 0, host: '127.0.0.1', dataDir: ':memory:', serverName: 'whisper.test', databaseUrl: db.databaseUrl, registration: 'open', logLevel: 'warn',
    rateLimits: uniformRateLimits({ points: 100_000, durationSec: 60 }), janusUrl: janus.url, janusApiSecret: janus.apiSecret, janusAdminKey: janus.adminKey,
  });
  const a: TestServer = await startTestServerOn(config());
  const b: TestServer = await startTestServerOn(config());
  const pages = await servePages();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required', '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  try {
    const [alice, bob] = [await a.register(), await a.register()];
    const roomId = (await a.request('POST', '/_matrix/client/v3/createRoom', { token: alice.access_token, body: { creation_content: { type: 'org.whisper.voice' }, invite: [bob.user_id] } })).body.room_id as string;
    await a.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} });
    const open = async (srv: TestServer, user: TestUser): Promise<Page> => {
      const page = await (await browser.newContext()).newPage();
      page.on('pageerror', (err) => log(user.user_id, 'page error', String(err)));
      await page.goto(pages.url);
      await page.waitForFunction(() => (window as any).moduleReady === true);
      await page.evaluate(async ({ hs, token, roomId }) => {
        const w = window as any;
        w.vc = new w.VoiceConnection({ homeserverUrl: hs, accessToken: token, iceServers: [] });
        w.speaking = [];
        w.vc.addEventListener('speaking', (e: any) => w.speaking.push(e.detail.user_id));
        await w.vc.connect();
        await w.vc.join(roomId);
      }, { hs: srv.url, token: user.access_token, roomId });
      return page;
    };
    const pa = await open(a, alice);
    const pb = await open(b, bob);
    const connectedFeeds = (p: Page) => p.waitForFunction(() => {
      const got = [...(window as any).vc.received.values()].filter((r: any) => r.feed.kind === 'voice' && r.pc.connectionState === 'connected');
      return got.length ? got.map((r: any) => r.feed.user_id) : false;
    }, undefined, { timeout: 30_000 }).then((h) => h.jsonValue() as Promise<string[]>);
    const heard = (p: Page) => p.evaluate(async () => {
      const bytes = async () => Object.values((await (window as any).vc.getStats()).received as Record<string, any>).reduce((n, r) => n + (r.kind === 'voice' ? r.bytesReceived : 0), 0);
      const before = await bytes();
      await new Promise((r) => setTimeout(r, 3000));
      return (await bytes()) - before;
    });
    const result = {
      aliceFeeds: await connectedFeeds(pa), bobFeeds: await connectedFeeds(pb),
      aliceHears: await heard(pa), bobHears: await heard(pb),
      aliceSawSpeaking: await pa.evaluate(() => [...new Set((window as any).speaking)]),
      bobSawSpeaking: await pb.evaluate(() => [...new Set((window as any).speaking)]),
      alice: alice.user_id, bob: bob.user_id,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await browser.close();
    pages.close();
    await b.close();
    await a.close();
    await db.drop();
    await janus.stop();
  }
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});
