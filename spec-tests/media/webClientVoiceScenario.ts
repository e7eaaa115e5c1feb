/**
 * The web client's voice and streaming UI for real, run INSIDE the network namespace that
 * web-client-voice.test.ts makes (Janus gathers no ICE on loopback). Starts the server under
 * test (which serves the built app and starts Janus) and drives three people's pages in
 * headless Chromium with fake devices (a beeping microphone, a generated 1920x1080 screen):
 * Alice creates a voice channel from the sidebar and invites the others; Alice and Bob join it
 * from the sidebar; each sees the other in the call with a speaking ring; Alice mutes and Bob
 * sees it; Carol goes live from the UI at 1080p60; Bob watches and his page plays the stream
 * with the stats overlay, then picks a lower simulcast layer; Bob disconnects and leaves the
 * others' lists. Screenshots go to spec-tests/artifacts. Prints one JSON line of what it saw
 * (or {error}) for the test to assert.
 */
import type { Browser, Page } from 'playwright-core';
import { backends, startTestServer, type TestServer, type TestUser } from '../harness.ts';
import { BrowserPages, CHROMIUM, CHROMIUM_FLAGS, screenshot } from '../browser.ts';

const log = (...args: unknown[]) => process.stderr.write(`[web-voice] ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
const PASSWORD = 'correct horse battery staple';
const MEDIA_FLAGS = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--disable-features=WebRtcHideLocalIpsWithMdns'];

async function signIn(pages: BrowserPages, browser: Browser, srv: TestServer, user: TestUser, label: string): Promise<Page> {
  const page = await pages.open(browser, srv.url, label, (p) => p.on('console', (msg) => { if (msg.type() === 'error') log(label, msg.text()); }));
  page.setDefaultTimeout(20_000);
  await page.getByLabel('Username').fill(user.user_id.slice(1).split(':')[0]);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Chats' }).waitFor();
  return page;
}

/** The sidebar's link of a voice channel, and the call roster under it. */
const channelLink = (page: Page, name: string) => page.locator('li.voice-channel a.room', { hasText: name });
const sidebarRoster = (page: Page, name: string) => page.locator('li.voice-channel', { has: page.locator('a.room', { hasText: name }) }).locator('li.call-member');
const participant = (page: Page, userId: string) => page.locator(`.participants li.participant[data-user-id="${userId}"]`);

async function main() {
  const out: Record<string, unknown> = {};
  const srv = await startTestServer(backends()[0], { logLevel: 'warn' });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...MEDIA_FLAGS], headless: true });
  const pages = new BrowserPages('web-voice-failed-');
  try {
    const [alice, bob, carol] = [
      await srv.register('alice', { password: PASSWORD }), await srv.register('bob', { password: PASSWORD }), await srv.register('carol', { password: PASSWORD }),
    ];
    const pa = await signIn(pages, browser, srv, alice, 'alice');
    const pb = await signIn(pages, browser, srv, bob, 'bob');
    const pc = await signIn(pages, browser, srv, carol, 'carol');

    // Alice creates the channel from the sidebar and invites the others in the same dialog.
    await pa.getByRole('button', { name: 'Create a voice channel' }).click();
    await pa.getByLabel('Channel name').fill('Hangout');
    await pa.getByLabel(/People to invite/).fill('bob, carol');
    await screenshot(pa, 'voice-create-channel');
    await pa.getByRole('button', { name: 'Create', exact: true }).click();
    await channelLink(pa, 'Hangout').waitFor();
    // The invitees accept from their sidebars; the room then lists under Voice channels.
    for (const p of [pb, pc]) {
      await p.locator('nav a.room', { hasText: 'Hangout' }).click();
      await p.getByRole('button', { name: 'Accept' }).click();
      await channelLink(p, 'Hangout').waitFor();
    }
    out.channelListed = { alice: await channelLink(pa, 'Hangout').count(), bob: await channelLink(pb, 'Hangout').count() };

    // Alice and Bob join from the sidebar (clicking the channel joins its call).
    await channelLink(pa, 'Hangout').click();
    await pa.getByRole('region', { name: 'Voice connection' }).getByText('Voice connected').waitFor();
    // Carol has not joined, yet sees who is in the call under the channel (room state).
    await sidebarRoster(pc, 'Hangout').filter({ hasText: 'alice' }).waitFor();
    out.carolSeesRosterBeforeJoining = await sidebarRoster(pc, 'Hangout').allInnerTexts();
    await channelLink(pb, 'Hangout').click();
    await pb.getByRole('region', { name: 'Voice connection' }).getByText('Voice connected').waitFor();
    await participant(pa, bob.user_id).waitFor();
    await participant(pb, alice.user_id).waitFor();
    out.aliceSees = await pa.locator('.participants li.participant').evaluateAll((els) => els.map((e) => e.getAttribute('data-user-id')));
    out.bobSees = await pb.locator('.participants li.participant').evaluateAll((els) => els.map((e) => e.getAttribute('data-user-id')));
    // The fake microphone beeps: each side sees the other's speaking ring.
    await pb.locator(`.participants li.participant.speaking[data-user-id="${alice.user_id}"]`).waitFor({ timeout: 20_000 });
    await pa.locator(`.participants li.participant.speaking[data-user-id="${bob.user_id}"]`).waitFor({ timeout: 20_000 });
    // The ring fades in (a CSS transition) and out with the beeps: wait for it drawn in full.
    out.ringColour = await pb.waitForFunction((uid) => {
      const ring = document.querySelector(`.participants li.participant.speaking[data-user-id="${uid}"] .ring`);
      const shadow = ring ? getComputedStyle(ring).boxShadow : '';
      return shadow.includes('rgb(35, 165, 90)') ? shadow : false;
    }, alice.user_id, { timeout: 20_000, polling: 50 }).then((h) => h.jsonValue(), () => 'never drawn green');
    out.speakingSeen = true;
    await screenshot(pb, 'voice-panel-speaking');

    // Alice mutes: Bob's panel and sidebar show it.
    await pa.getByRole('toolbar', { name: 'Call controls' }).getByRole('button', { name: 'Mute' }).click();
    await pb.locator(`.participants li.participant[data-user-id="${alice.user_id}"][data-muted="true"]`).waitFor();
    out.aliceMutedLabel = await participant(pb, alice.user_id).getByRole('button').getAttribute('aria-label');
    out.aliceMutedInSidebar = await sidebarRoster(pb, 'Hangout').filter({ hasText: 'alice' }).getByLabel('muted').count();
    out.muteButtonPressed = await pa.getByRole('toolbar', { name: 'Call controls' }).getByRole('button', { name: 'Mute' }).getAttribute('aria-pressed');

    // Per-user volume from Bob's menu on Alice.
    await participant(pb, alice.user_id).getByRole('button').click();
    await pb.getByLabel(`Volume of alice`).fill('40');
    await participant(pb, alice.user_id).locator('.volume-note', { hasText: '40%' }).waitFor().catch(() => {});
    out.volumeNote = await participant(pb, alice.user_id).locator('.volume-note').innerText();
    await pb.getByRole('dialog', { name: 'Options for alice' }).getByRole('button', { name: 'Done' }).click();

    // The voice settings: devices from enumerateDevices, processing toggles, push-to-talk, sounds.
    await pb.getByRole('button', { name: 'Voice settings' }).click();
    // The device list fills once enumerateDevices answers: the default entry plus the fake microphone.
    await pb.locator('#call-input option').nth(1).waitFor({ state: 'attached' }).catch(() => {});
    out.inputDevices = await pb.locator('#call-input option').count();
    await pb.locator('.voice-settings-pop label.check').nth(4).waitFor();
    out.settingsLabels = await pb.locator('.voice-settings-pop label.check').allInnerTexts();
    await screenshot(pb, 'voice-settings');
    await pb.getByRole('button', { name: 'Voice settings' }).click();

    // Carol joins and goes live from the UI.
    await channelLink(pc, 'Hangout').click();
    await pc.getByRole('region', { name: 'Voice connection' }).getByText('Voice connected').waitFor();
    await pc.getByRole('toolbar', { name: 'Call controls' }).getByRole('button', { name: 'Go live' }).click();
    const dialog = pc.getByRole('dialog', { name: 'Go live' });
    // evaluateAll does not wait: the dialog draws its five presets first.
    await dialog.locator('input[name=go-live-preset]').nth(4).waitFor({ state: 'attached' });
    out.presets = await dialog.locator('input[name=go-live-preset]').evaluateAll((els) => els.map((e) => [(e as HTMLInputElement).value, (e as HTMLInputElement).checked]));
    await screenshot(pc, 'voice-go-live-dialog');
    await dialog.getByRole('button', { name: 'Go live' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 20_000 });
    const capture = await pc.locator('article.stream-tile.mine video').evaluate(async (v) => {
      const track = ((v as HTMLVideoElement).srcObject as MediaStream).getVideoTracks()[0];
      const s = track.getSettings();
      return { width: s.width, height: s.height, frameRate: s.frameRate };
    });
    out.capture = capture;

    // Bob sees the stream in the grid and watches it.
    const tile = pb.locator('article.stream-tile', { hasText: "carol's stream" });
    await tile.getByRole('button', { name: "Watch carol's stream" }).click();
    await pb.waitForFunction(() => {
      const v = document.querySelector('article.stream-tile.watching video') as HTMLVideoElement | null;
      return !!v && v.readyState >= 2 && !v.paused && v.videoWidth > 0 && v.currentTime > 0;
    }, undefined, { timeout: 30_000, polling: 250 });
    // The overlay reports the stream's own resolution once the bitrate has ramped up.
    const overlay = tile.locator('.stream-stats');
    await pb.waitForFunction((w) => {
      const el = document.querySelector('article.stream-tile.watching .stream-stats');
      // A bitrate needs two samples.
      return el?.getAttribute('data-width') === String(w) && /bit\/s/.test(el.textContent ?? '');
    }, capture.width, { timeout: 30_000, polling: 250 }).catch(() => {});
    out.overlay = { text: await overlay.innerText(), width: await overlay.getAttribute('data-width'), height: await overlay.getAttribute('data-height'), fps: await overlay.getAttribute('data-fps') };
    out.video = await tile.locator('video').evaluate((v) => ({ width: (v as HTMLVideoElement).videoWidth, height: (v as HTMLVideoElement).videoHeight, playing: !(v as HTMLVideoElement).paused }));
    out.streamState = (await srv.request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent((await pb.locator('li.voice-channel a.room').getAttribute('data-room-id'))!)}/state/org.whisper.stream/${encodeURIComponent(`main|${carol.user_id}`)}`, { token: bob.access_token })).body;
    await screenshot(pb, 'voice-watching-stream');

    // A weaker link: Bob asks for the quarter-resolution layer; only his copy changes.
    const layers = await tile.getByLabel("Quality of carol's stream").locator('option').allInnerTexts();
    out.layerOptions = layers;
    await tile.getByLabel("Quality of carol's stream").selectOption('l');
    const quarter = String(Math.round((capture.width ?? 0) / 4));
    out.lowLayerReached = await pb.waitForFunction((w) => document.querySelector('article.stream-tile.watching .stream-stats')?.getAttribute('data-width') === w, quarter, { timeout: 20_000, polling: 250 }).then(() => true, () => false);
    out.lowLayerOverlay = await overlay.innerText();

    // Full screen on the watched stream's tile.
    await tile.getByRole('button', { name: "Full screen: carol's stream" }).click();
    out.fullscreen = await pb.waitForFunction(() => document.fullscreenElement?.getAttribute('aria-label'), undefined, { timeout: 5000 }).then((h) => h.jsonValue(), () => null);
    await pb.evaluate(() => document.exitFullscreen().catch(() => {}));

    // Alice goes live with her camera at 720p30: Bob watches both streams side by side.
    await pa.getByRole('toolbar', { name: 'Call controls' }).getByRole('button', { name: 'Go live' }).click();
    const aliceDialog = pa.getByRole('dialog', { name: 'Go live' });
    await aliceDialog.getByLabel('Camera').check();
    await aliceDialog.getByLabel('720p 30 fps').check();
    await aliceDialog.getByRole('button', { name: 'Go live' }).click();
    await aliceDialog.waitFor({ state: 'detached', timeout: 20_000 });
    await pb.locator('article.stream-tile', { hasText: "alice's stream" }).getByRole('button', { name: "Watch alice's stream" }).click();
    await pb.waitForFunction(() => {
      const videos = [...document.querySelectorAll('section.streams.side-by-side article.stream-tile.watching video')] as HTMLVideoElement[];
      return videos.length === 2 && videos.every((v) => v.readyState >= 2 && v.videoWidth > 0);
    }, undefined, { timeout: 30_000, polling: 250 });
    out.sideBySide = await pb.locator('section.streams article.stream-tile.watching').evaluateAll((els) => els.map((e) => {
      const v = e.querySelector('video') as HTMLVideoElement;
      return { label: e.getAttribute('aria-label'), width: v.videoWidth, height: v.videoHeight, left: Math.round(e.getBoundingClientRect().left), top: Math.round(e.getBoundingClientRect().top) };
    }));
    await screenshot(pb, 'voice-two-streams');

    // Bob disconnects: he leaves the panel and the sidebar roster on Alice's page.
    await pb.getByRole('region', { name: 'Voice connection' }).getByRole('button', { name: 'Disconnect' }).click();
    await participant(pa, bob.user_id).waitFor({ state: 'detached' });
    await sidebarRoster(pa, 'Hangout').filter({ hasText: 'bob' }).waitFor({ state: 'detached' });
    out.afterDisconnect = {
      alicePanel: await pa.locator('.participants li.participant').evaluateAll((els) => els.map((e) => e.getAttribute('data-user-id'))),
      aliceSidebar: await sidebarRoster(pa, 'Hangout').allInnerTexts(),
      bobBar: await pb.getByRole('region', { name: 'Voice connection' }).count(),
    };
    await screenshot(pa, 'voice-after-disconnect');
    // Bob, out of the call, sees the channel's lobby: who is there, the live stream, Join.
    await pb.getByRole('button', { name: 'Join voice' }).waitFor();
    out.lobbyText = await pb.locator('.lobby-card').innerText();
    await screenshot(pb, 'voice-lobby');
    out.problems = pages.pages.flatMap(([, p]) => pages.problems(p));
  } catch (err) {
    await pages.recordFailure();
    throw err;
  } finally {
    await pages.close();
    await browser.close().catch(() => {});
    await srv.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    log('failed', String(err?.stack ?? err));
    process.stdout.write(JSON.stringify({ error: String(err?.message ?? err) }) + '\n');
    process.exit(1);
  },
);
