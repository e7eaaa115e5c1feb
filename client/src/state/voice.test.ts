/**
 * The voice state layer: voice channels and their call rosters and streams as room state shows
 * them through matrix-js-sdk's sync (a real server; calls joined over the real signaling socket
 * with Janus when it is installed), the join/leave sounds following that roster, the saved
 * voice settings, and what the stats samples mean. The media itself (microphones, streams) is
 * exercised in Chromium by spec-tests/web-client-voice.test.ts.
 */
import './sdkLogLevel.ts';
import assert from 'node:assert/strict';
import { describeServer, type TestUser } from '../../../spec-tests/harness.ts';
import { until } from '../../../spec-tests/sdkHelpers.ts';
import { fakeAudioOffer, installed, SignalClient } from '../../../spec-tests/voiceHelpers.ts';
import type { MediaSummary, VoiceStats } from '../media/voiceConnection.ts';
import { ChatState } from './chat.ts';
import { startChat } from './chatTesting.ts';
import type { KeyValueStore } from './session.ts';
import { VoiceState } from './voice.ts';
import { callMembers, liveStreams, rosterChanges } from './voiceRoster.ts';
import { DEFAULT_VOICE_SETTINGS, keyAccelerator, keyLabel, loadVoiceSettings, PRESET_CHOICES, saveVoiceSettings } from './voiceSettings.ts';
import { DEFAULT_PRESET, PRESETS } from '../media/quality.ts';
import { connectionQuality, formatBitrate, streamStats, type Sample } from './voiceStats.ts';

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

describe('voice settings', () => {
  it('are saved and read back; damaged or unknown values fall back to the defaults', () => {
    const store = memoryStore();
    assert.deepEqual(loadVoiceSettings(store), DEFAULT_VOICE_SETTINGS);
    // The settings name the media layer's presets without importing it (it loads on the first join).
    assert.equal(DEFAULT_VOICE_SETTINGS.preset, DEFAULT_PRESET);
    assert.deepEqual([...PRESET_CHOICES].sort(), Object.keys(PRESETS).sort());
    assert.equal(DEFAULT_VOICE_SETTINGS.sounds, true);
    saveVoiceSettings(store, { ...DEFAULT_VOICE_SETTINGS, pushToTalk: true, pttKey: 'KeyV', sounds: false, preset: '1440p60', inputDeviceId: 'mic-2' });
    assert.deepEqual(loadVoiceSettings(store), { ...DEFAULT_VOICE_SETTINGS, pushToTalk: true, pttKey: 'KeyV', sounds: false, preset: '1440p60', inputDeviceId: 'mic-2' });
    store.setItem('whisper.voice.settings', JSON.stringify({ sounds: 'no', preset: '8k', echoCancellation: false }));
    assert.deepEqual(loadVoiceSettings(store), { ...DEFAULT_VOICE_SETTINGS, echoCancellation: false });
    store.setItem('whisper.voice.settings', '{not json');
    assert.deepEqual(loadVoiceSettings(store), DEFAULT_VOICE_SETTINGS);
  });

  it('name push-to-talk keys for people and for the desktop app\'s global shortcut', () => {
    assert.deepEqual(['Backquote', 'KeyV', 'Digit4', 'F8', 'CapsLock'].map(keyLabel), ['`', 'V', '4', 'F8', 'Caps Lock']);
    assert.deepEqual(['Backquote', 'KeyV', 'F8', 'CapsLock'].map(keyAccelerator), ['`', 'V', 'F8', undefined]);
  });
});

describe('voice stats as the views show them', () => {
  const summary = (s: Partial<MediaSummary>): MediaSummary => ({ bytesSent: 0, bytesReceived: 0, packetsLost: 0, ...s });
  const sample = (at: number, stats: VoiceStats): Sample => ({ at, stats });

  it('connection quality from round trip and voice loss between two samples', () => {
    const recv = (lost: number, got: number) => ({ 7: { ...summary({ packetsLost: lost, packetsReceived: got }), user_id: '@b:x', kind: 'voice' } });
    const a = sample(0, { publishers: { voice: summary({ roundTripTime: 0.02 }) }, received: recv(0, 100) });
    assert.deepEqual(connectionQuality(undefined, a), { rttMs: 20, lossPct: undefined, level: 'good' });
    const b = sample(1000, { publishers: { voice: summary({ roundTripTime: 0.02 }) }, received: recv(3, 197) });
    assert.deepEqual(connectionQuality(a, b), { rttMs: 20, lossPct: 3, level: 'fair' });
    const c = sample(2000, { publishers: { voice: summary({ roundTripTime: 0.3 }) }, received: recv(3, 297) });
    assert.equal(connectionQuality(b, c).level, 'poor');
    assert.equal(connectionQuality(undefined, sample(0, { publishers: {}, received: {} })).level, 'unknown');
  });

  it('a watched stream\'s overlay: resolution, fps, bitrate, latency and loss from two samples', () => {
    const video = (bytes: number, frames: number, lost: number, got: number) => ({
      publishers: {},
      received: { 9: { ...summary({ bytesReceived: bytes, framesDecoded: frames, frameWidth: 1920, frameHeight: 1080, packetsLost: lost, packetsReceived: got, roundTripTime: 0.01, jitterBufferMs: 30, codec: 'video/H264' }), user_id: '@c:x', kind: 'stream' } },
    });
    const first = sample(0, video(0, 0, 0, 0));
    const second = sample(2000, video(2_000_000, 120, 1, 999));
    assert.deepEqual(streamStats(first, second, 9), { width: 1920, height: 1080, fps: 60, kbps: 8000, latencyMs: 35, lossPct: 0.1, codec: 'H264' });
    assert.equal(streamStats(first, second, 10), undefined);
    assert.deepEqual([formatBitrate(8000), formatBitrate(640.4), formatBitrate(undefined)], ['8.0 Mbit/s', '640 kbit/s', '–']);
  });

  it('roster changes: who came and who went', () => {
    assert.deepEqual(rosterChanges(['@a', '@b'], ['@b', '@c']), { joined: ['@c'], left: ['@a'] });
    assert.deepEqual(rosterChanges([], []), { joined: [], left: [] });
  });
});

describe('the call\'s own sounds', () => {
  it('mute and unmute play their tones, remembered per browser; with the sounds setting off nothing plays', async () => {
    const store = memoryStore();
    let redraws = 0;
    const voice = new VoiceState({ homeserverUrl: 'http://127.0.0.1:9', accessToken: '', userId: '@a:x', storage: store, onChange: () => redraws++, room: () => null });
    await voice.setMuted(true);
    await voice.setMuted(false);
    assert.deepEqual(voice.cues.played, { join: 0, leave: 0, mute: 1, unmute: 1 });
    assert.ok(redraws >= 2);
    voice.setSounds(false);
    await voice.toggleMute();
    assert.equal(voice.muted, true);
    assert.equal(voice.cues.played.mute, 1);
    assert.equal(loadVoiceSettings(store).sounds, false, 'the setting is saved');
    voice.setPushToTalk(true);
    voice.setPttKey('KeyV');
    assert.equal(voice.transmitting, false, 'muted');
    await voice.toggleMute();
    assert.equal(voice.transmitting, false, 'push-to-talk key not held');
    voice.pttDown();
    assert.equal(voice.transmitting, true);
    voice.pttUp();
    assert.equal(voice.transmitting, false);
    assert.deepEqual([loadVoiceSettings(store).pushToTalk, loadVoiceSettings(store).pttKey], [true, 'KeyV']);
    await voice.close();
  });

  it('deafen mutes too and undeafen gives back the mute from before; unmuting while deafened undeafens (as Discord does)', async () => {
    const voice = new VoiceState({ homeserverUrl: 'http://127.0.0.1:9', accessToken: '', userId: '@a:x', storage: memoryStore(), onChange: () => {}, room: () => null });
    const flags = () => [voice.muted, voice.deafened];
    await voice.toggleDeafen();
    assert.deepEqual(flags(), [true, true], 'deafening an open microphone mutes it');
    assert.equal(voice.transmitting, false);
    await voice.toggleDeafen();
    assert.deepEqual(flags(), [false, false], 'it was open before: undeafening opens it again');
    await voice.setMuted(true);
    await voice.toggleDeafen();
    await voice.toggleDeafen();
    assert.deepEqual(flags(), [true, false], 'muted before deafening stays muted after');
    await voice.setMuted(false);
    await voice.toggleDeafen();
    await voice.toggleMute();
    assert.deepEqual(flags(), [false, false], 'unmuting while deafened undeafens');
    assert.equal(voice.transmitting, true);
    assert.deepEqual(voice.cues.played, { join: 0, leave: 0, mute: 4, unmute: 4 });
    await voice.close();
  });
});

describeServer('voice channels in the state layer', {}, (srv) => {
  const chats: ChatState[] = [];
  const signals: SignalClient[] = [];
  let alice: ChatState;
  let bobUser: TestUser;
  let carolUser: TestUser;
  let roomId: string;
  after(() => {
    chats.forEach((c) => c.stop());
    signals.forEach((s) => s.close());
  });

  before(async () => {
    const aliceUser = await srv().register('alice');
    bobUser = await srv().register('bob');
    carolUser = await srv().register('carol');
    alice = await startChat(srv(), aliceUser);
    chats.push(alice);
  });

  it('a voice channel made by createVoiceChannel lists as kind "voice" (for its members), with nobody in the call', async () => {
    roomId = await alice.createVoiceChannel('Hangout', [bobUser.user_id, carolUser.user_id]);
    const summary = await until('the channel in the list', () => alice.rooms().find((r) => r.roomId === roomId));
    assert.equal(summary.kind, 'voice');
    assert.equal(summary.name, 'Hangout');
    assert.equal(alice.kindOf(alice.room(roomId)!), 'voice');
    assert.deepEqual(callMembers(alice.room(roomId)!), []);
    for (const u of [bobUser, carolUser]) await srv().request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: u.access_token, body: {} });
    const group = await alice.createGroup('Not voice', []);
    assert.equal((await until('the group', () => alice.rooms().find((r) => r.roomId === group))).kind, 'group');
  });

  it('who joins a call, mutes, goes live and leaves shows through sync; the join/leave sounds follow that roster', async function () {
    if (!installed('janus')) this.skip(); // joining a call needs Janus (Debian janus)
    const voice = new VoiceState({ homeserverUrl: srv().url, accessToken: '', userId: alice.userId, storage: memoryStore(), onChange: () => {}, room: (id) => alice.room(id) });
    // As if Alice were in the call (her media is the browser test's part): the sounds follow the roster.
    voice.roomId = roomId;
    voice.status = 'connected';
    alice.subscribe(() => voice.observeRoster());
    voice.observeRoster();

    const join = async (u: TestUser) => {
      const { client } = await SignalClient.connect(srv().url, u.access_token);
      signals.push(client);
      assert.equal((await client.request({ type: 'join', room_id: roomId })).type, 'joined');
      assert.equal((await client.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() })).type, 'published');
      return client;
    };
    const bob = await join(bobUser);
    await until('bob in the call', () => callMembers(alice.room(roomId)!).some((m) => m.userId === bobUser.user_id));
    assert.equal(voice.cues.played.join, 1);
    const carol = await join(carolUser);
    await until('carol in the call', () => callMembers(alice.room(roomId)!).some((m) => m.userId === carolUser.user_id));
    assert.equal(voice.cues.played.join, 2);

    assert.equal((await bob.request({ type: 'state', muted: true, deafened: true })).type, 'state');
    const bobState = await until('bob muted', () => callMembers(alice.room(roomId)!).find((m) => m.userId === bobUser.user_id && m.muted));
    assert.deepEqual(bobState, { userId: bobUser.user_id, muted: true, deafened: true, streams: [] });

    // Carol goes live (an audio-only offer is enough for the state every member reads).
    const live = await carol.request({
      type: 'publish', kind: 'stream', jsep: fakeAudioOffer(), quality: '720p30', stream_id: 'game',
      description: { width: 1280, height: 720, fps: 30, codec: 'VP8', has_audio: true, layers: [] },
    });
    assert.equal(live.type, 'published', JSON.stringify(live));
    const [stream] = await until('carol live', () => {
      const s = liveStreams(alice.room(roomId)!);
      return s.length ? s : undefined;
    });
    assert.deepEqual({ ...stream, startedTs: 0 }, { userId: carolUser.user_id, streamId: 'game', feed: live.feed, preset: '720p30', width: 1280, height: 720, fps: 30, codec: 'VP8', hasAudio: true, layers: [], startedTs: 0 });
    await until('carol\'s roster entry lists the stream', () => callMembers(alice.room(roomId)!).find((m) => m.userId === carolUser.user_id)?.streams.includes('game'));
    assert.equal(voice.cues.played.join, 2, 'going live is no join');

    // Ending the stream empties its state; leaving takes the user out of the roster, with a sound.
    await carol.request({ type: 'unpublish', kind: 'stream', stream_id: 'game' });
    await until('the stream ended', () => liveStreams(alice.room(roomId)!).length === 0);
    await bob.request({ type: 'leave' });
    await until('bob left', () => !callMembers(alice.room(roomId)!).some((m) => m.userId === bobUser.user_id));
    assert.equal(voice.cues.played.leave, 1);

    // With the sounds turned off, nothing plays.
    voice.setSounds(false);
    await carol.request({ type: 'leave' });
    await until('carol left', () => callMembers(alice.room(roomId)!).length === 0);
    assert.deepEqual(voice.cues.played, { join: 2, leave: 1, mute: 0, unmute: 0 });
  });

  it('the server keeps deafened muted in what every member reads, whatever flags a client sends', async function () {
    if (!installed('janus')) this.skip();
    const { client: bob } = await SignalClient.connect(srv().url, bobUser.access_token);
    signals.push(bob);
    assert.equal((await bob.request({ type: 'join', room_id: roomId })).type, 'joined');
    assert.equal((await bob.request({ type: 'publish', kind: 'voice', jsep: fakeAudioOffer() })).type, 'published');
    const step = async (change: { muted?: boolean; deafened?: boolean }) => {
      const reply = await bob.request({ type: 'state', ...change });
      const expected = [reply.state.muted, reply.state.deafened];
      // Alice reads it from room state through sync.
      await until(`bob ${JSON.stringify(expected)} in alice's room state`, () => {
        const m = callMembers(alice.room(roomId)!).find((p) => p.userId === bobUser.user_id);
        return m && m.muted === expected[0] && m.deafened === expected[1];
      });
      return expected;
    };
    assert.deepEqual(await step({ deafened: true }), [true, true], 'deafening mutes');
    assert.deepEqual(await step({ deafened: false }), [false, false], 'undeafening restores the open microphone');
    assert.deepEqual(await step({ muted: true }), [true, false]);
    assert.deepEqual(await step({ deafened: true }), [true, true]);
    assert.deepEqual(await step({ deafened: false }), [true, false], 'muted before deafening stays muted');
    assert.deepEqual(await step({ muted: false, deafened: true }), [true, true], 'a deafened microphone is never open');
    assert.deepEqual(await step({ muted: false }), [false, false], 'unmuting while deafened undeafens');
    await bob.request({ type: 'leave' });
  });
});
