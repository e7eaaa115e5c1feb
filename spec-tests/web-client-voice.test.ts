/**
 * The web client's voice channel and streaming UI against real Janus and real Chromium: the
 * server under test, Janus and the browser run in a network namespace this test makes (Janus
 * gathers no ICE on loopback); spec-tests/media/webClientVoiceScenario.ts drives three people's
 * pages in it and reports what they showed. Screenshots go to spec-tests/artifacts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildClient, isStale } from '../client/build.ts';
import { chromiumMissing } from './browser.ts';
import { makeMediaNamespace, type MediaNamespace } from './media/netns.ts';
import { installed } from './voiceHelpers.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('web client voice and streams (Janus + Chromium in a network namespace)', function () {
  this.timeout(240_000);
  let ns: MediaNamespace | undefined;
  let r: Record<string, any> = {};
  const USERS = { alice: '@alice:whisper.test', bob: '@bob:whisper.test', carol: '@carol:whisper.test' };

  before(async function () {
    const missing = ['janus', 'ip'].filter((b) => !installed(b));
    if (missing.length || chromiumMissing()) this.skip(); // needs: apt-get install janus chromium (iproute2)
    if (process.getuid?.() !== 0) this.skip(); // making a network namespace needs root
    if (await isStale()) await buildClient();
    ns = makeMediaNamespace('whisper-webvoice');
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, 'spec-tests/media/webClientVoiceScenario.ts'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await new Promise((resolve) => child.on('exit', resolve));
    r = JSON.parse(out.trim().split('\n').at(-1) || '{}');
    if (r.error) throw new Error(`scenario failed: ${r.error}\n${err.slice(-3000)}`);
    console.log(`      seen: capture ${r.capture?.width}x${r.capture?.height}; overlay "${r.overlay?.text}"; low layer "${r.lowLayerOverlay}"`);
  });

  after(() => ns?.remove());

  it('a voice channel made from the sidebar lists for every member, with the call roster visible before joining', () => {
    assert.deepEqual(r.channelListed, { alice: 1, bob: 1 });
    assert.equal(r.carolSeesRosterBeforeJoining.length, 1, JSON.stringify(r.carolSeesRosterBeforeJoining));
    assert.match(r.carolSeesRosterBeforeJoining[0], /alice/);
  });

  it('two users who join from the sidebar see each other in the panel, with speaking rings from their microphones', () => {
    assert.deepEqual(r.aliceSees, [USERS.alice, USERS.bob]);
    assert.deepEqual(r.bobSees, [USERS.bob, USERS.alice]);
    assert.equal(r.speakingSeen, true);
    assert.match(r.ringColour, /rgb\(35, 165, 90\)/, 'the ring is drawn in the "ok" green');
  });

  it('mute shows on the other side, in the panel and the sidebar; per-user volume and the voice settings are there', () => {
    assert.equal(r.muteButtonPressed, 'true');
    assert.match(r.aliceMutedLabel, /^alice, .*muted/);
    assert.equal(r.aliceMutedInSidebar, 1);
    assert.equal(r.volumeNote, '40%');
    assert.ok(r.inputDevices >= 2, `the default and the fake microphone: ${r.inputDevices}`);
    assert.deepEqual(r.settingsLabels, ['Echo cancellation', 'Noise suppression', 'Automatic gain', 'Use push to talk', 'Play join, leave and mute sounds']);
  });

  it('a third user goes live from the UI (1080p60 by default) and a viewer\'s page plays it with the stats overlay at the stream\'s resolution', () => {
    assert.deepEqual(r.presets, [['720p30', false], ['1080p60', true], ['1440p60', false], ['2160p60', false], ['source', false]]);
    const { width, height } = r.capture;
    assert.deepEqual([r.streamState.width, r.streamState.height], [width, height], 'the stream\'s room state describes what was captured');
    assert.equal(r.streamState.preset, '1080p60');
    assert.deepEqual([Number(r.overlay.width), Number(r.overlay.height)], [width, height], JSON.stringify(r.overlay));
    assert.deepEqual([r.video.width, r.video.height, r.video.playing], [width, height, true]);
    assert.match(r.overlay.text, new RegExp(`${width}×${height} · \\d+ fps · [\\d.]+ (Mbit|kbit)/s · \\d+ ms`));
  });

  it('the quality menu of a simulcast stream switches the viewer to a lower layer', () => {
    assert.deepEqual(r.layerOptions, ['Full', 'Half', 'Quarter']);
    assert.equal(r.lowLayerReached, true, r.lowLayerOverlay);
  });

  it('full screen, and two streams watched side by side (the second one a camera at 720p30)', () => {
    assert.equal(r.fullscreen, "carol's stream");
    const [first, second] = r.sideBySide;
    assert.deepEqual([first.label, second.label].sort(), ["alice's stream", "carol's stream"]);
    assert.equal(first.top, second.top, JSON.stringify(r.sideBySide));
    assert.notEqual(first.left, second.left);
    const alice = r.sideBySide.find((t: any) => t.label === "alice's stream");
    assert.ok(alice.width > 0 && alice.width <= 1280, JSON.stringify(alice));
  });

  it('disconnecting removes the user from the others\' panel and sidebar', () => {
    assert.deepEqual(r.afterDisconnect.alicePanel, [USERS.alice, USERS.carol]);
    assert.ok(r.afterDisconnect.aliceSidebar.every((t: string) => !/bob/.test(t)), JSON.stringify(r.afterDisconnect));
    assert.equal(r.afterDisconnect.bobBar, 0);
    assert.match(r.lobbyText, /In the call: .*alice/);
    assert.deepEqual(r.problems, []);
  });
});
