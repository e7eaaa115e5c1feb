/**
 * The call this client is in, for the views: one VoiceConnection (made on the first join, kept
 * for the session), mute / deafen / push-to-talk, who is speaking, devices and audio processing,
 * per-user volume, "go live", the streams being watched with their layer, connection quality and
 * stream stats sampled from getStats(), and the join/leave/mute sounds. Who is in a call comes
 * from room state (voiceRoster.ts), so the sidebar shows every channel's call without joining.
 */
import type { Room } from 'matrix-js-sdk';
// Types only: the media layer is loaded on the first join, keeping it out of the first page load.
import type { Feed, Layer, VoiceConnection, VoiceConnectionOptions } from '../media/voiceConnection.ts';
import type { ContentKind, QualityPreset } from '../media/quality.ts';
import { changeMic, UNMUTED, type MicState } from '../media/micState.ts';
import { CuePlayer, type Cue } from '../media/tones.ts';
import type { CaptureSource, desktopBridge } from '../desktop.ts';
import type { KeyValueStore } from './session.ts';
import { callMembers, rosterChanges } from './voiceRoster.ts';
import { connectionQuality, streamStats, type ConnectionQuality, type Sample, type StreamStats } from './voiceStats.ts';
import { keyAccelerator, loadVoiceSettings, saveVoiceSettings, type VoiceSettings } from './voiceSettings.ts';

export type CallStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting';

export interface WatchedStream {
  feed: number;
  userId: string;
  streamId: string;
  media: MediaStream;
  layer: Layer;
}

export interface VoiceStateDeps {
  homeserverUrl: string;
  accessToken: string;
  userId: string;
  storage: KeyValueStore;
  /** Something changed that the views show. */
  onChange: () => void;
  /** The room of a room id (for the roster the sounds follow). */
  room: (roomId: string) => Room | null;
  desktop?: typeof desktopBridge;
  /** Made on the first join; tests may hand in their own options. */
  connectionOptions?: Partial<VoiceConnectionOptions>;
}

/** The stream id "Go live" uses (VoiceConnection's default): this UI runs one stream per user. */
const STREAM_ID = 'main';
/** How often the call's stats are sampled for the quality badge and stream overlays. */
const STATS_INTERVAL_MS = 1000;
/** A global shortcut reports key-down only (repeating while held): the microphone stays open this long after the last one. */
const GLOBAL_PTT_HOLD_MS = 600;

export class VoiceState {
  status: CallStatus = 'idle';
  /** The voice channel this client is in (or joining). */
  roomId: string | undefined;
  /** Mute and deafen (deafening mutes too: micState.ts). */
  mic: MicState = UNMUTED;
  /** Push-to-talk key held now. */
  pttHeld = false;
  error: string | undefined;
  settings: VoiceSettings;
  /** Users speaking now (from audio levels; this user too). */
  readonly speaking = new Set<string>();
  readonly watched = new Map<number, WatchedStream>();
  /** This user's live stream (its local preview) and the preset it went out at. */
  live: { media: MediaStream; preset: QualityPreset } | undefined;
  quality: ConnectionQuality = { level: 'unknown' };
  readonly streamStats = new Map<number, StreamStats>();
  devices: { inputs: MediaDeviceInfo[]; outputs: MediaDeviceInfo[] } = { inputs: [], outputs: [] };
  readonly cues = new CuePlayer();

  private readonly deps: VoiceStateDeps;
  private vc: VoiceConnection | undefined;
  private connecting: Promise<VoiceConnection> | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private lastSample: Sample | undefined;
  /** The roster of the call we are in as last seen, to hear who joins and leaves. */
  private roster: Set<string> | undefined;
  private globalPttTimer: ReturnType<typeof setTimeout> | undefined;
  private stopGlobalPtt: (() => void) | undefined;
  private readonly onDeviceChange = () => void this.refreshDevices();

  constructor(deps: VoiceStateDeps) {
    this.deps = deps;
    this.settings = loadVoiceSettings(deps.storage);
    if (typeof navigator !== 'undefined' && navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', this.onDeviceChange);
    this.applyGlobalPtt();
  }

  get muted(): boolean {
    return this.mic.muted;
  }

  get deafened(): boolean {
    return this.mic.deafened;
  }

  get inCall(): boolean {
    return this.roomId !== undefined;
  }

  /** Whether the microphone sends now (not muted; push-to-talk key held when that is on). */
  get transmitting(): boolean {
    return !this.muted && (!this.settings.pushToTalk || this.pttHeld);
  }

  // ---- joining and leaving ----------------------------------------------------------------

  async join(roomId: string): Promise<void> {
    if (this.roomId === roomId && this.status !== 'idle') return;
    if (this.roomId) await this.leave(false);
    this.roomId = roomId;
    this.status = 'connecting';
    this.error = undefined;
    this.changed();
    try {
      const vc = await this.connect();
      vc.mic = this.mic;
      vc.setPushToTalk(this.settings.pushToTalk);
      await vc.join(roomId);
      if (this.roomId !== roomId) return; // left while joining
      this.status = 'connected';
      this.roster = undefined;
      this.cue('join');
      this.startStats();
      void this.refreshDevices();
    } catch (err) {
      if (this.roomId === roomId) {
        this.roomId = undefined;
        this.status = 'idle';
        this.error = describeError(err);
        await this.vc?.leave().catch(() => {});
      }
    }
    this.changed();
  }

  async leave(sound = true): Promise<void> {
    if (!this.roomId) return;
    this.roomId = undefined;
    this.status = 'idle';
    this.resetCall();
    if (sound) this.cue('leave');
    this.changed();
    await this.vc?.leave().catch(() => {});
  }

  /** Signing out: the call, the microphone and the socket end. */
  async close(): Promise<void> {
    this.roomId = undefined;
    this.resetCall();
    clearTimeout(this.globalPttTimer);
    this.stopGlobalPtt?.();
    if (typeof navigator !== 'undefined' && navigator.mediaDevices) navigator.mediaDevices.removeEventListener('devicechange', this.onDeviceChange);
    this.cues.close();
    await this.vc?.close().catch(() => {});
    this.vc = undefined;
  }

  /**
   * Called whenever room state may have changed: someone joining or leaving the call we are in
   * plays a sound (not for ourselves, whose own join and leave have theirs).
   */
  observeRoster(): void {
    if (this.status !== 'connected' || !this.roomId) return;
    const room = this.deps.room(this.roomId);
    if (!room) return;
    const now = new Set(callMembers(room).map((m) => m.userId));
    now.delete(this.deps.userId);
    if (this.roster) {
      const { joined, left } = rosterChanges(this.roster, now);
      if (joined.length) this.cue('join');
      else if (left.length) this.cue('leave');
    }
    this.roster = now;
  }

  // ---- microphone and speakers --------------------------------------------------------------

  async toggleMute(): Promise<void> {
    await this.setMuted(!this.muted);
  }

  /** Unmuting while deafened undeafens too. */
  async setMuted(muted: boolean): Promise<void> {
    await this.changeMic({ muted });
  }

  /** Deafening mutes the microphone too; undeafening gives back the mute from before. */
  async toggleDeafen(): Promise<void> {
    await this.changeMic({ deafened: !this.deafened });
  }

  setPushToTalk(enabled: boolean): void {
    this.update({ pushToTalk: enabled });
    this.pttHeld = false;
    this.vc?.setPushToTalk(enabled);
    this.applyGlobalPtt();
  }

  setPttKey(code: string): void {
    this.update({ pttKey: code });
    this.applyGlobalPtt();
  }

  pttDown(): void {
    if (!this.settings.pushToTalk || this.pttHeld) return;
    this.pttHeld = true;
    this.vc?.pttDown();
    this.changed();
  }

  pttUp(): void {
    if (!this.pttHeld) return;
    this.pttHeld = false;
    this.vc?.pttUp();
    this.changed();
  }

  setVolume(userId: string, volume: number): void {
    this.vc?.setVolume(userId, volume);
    this.vc?.setVolume(userId, volume, 'stream');
    this.changed();
  }

  volumeOf(userId: string): number {
    return this.vc?.volumeOf(userId) ?? 1;
  }

  async setInputDevice(deviceId: string): Promise<void> {
    this.update({ inputDeviceId: deviceId });
    await this.vc?.setInputDevice(deviceId).catch((err) => this.fail(err));
  }

  async setOutputDevice(deviceId: string): Promise<void> {
    this.update({ outputDeviceId: deviceId });
    await this.vc?.setOutputDevice(deviceId);
  }

  async setProcessing(change: Partial<Pick<VoiceSettings, 'echoCancellation' | 'noiseSuppression' | 'autoGainControl'>>): Promise<void> {
    this.update(change);
    await this.vc?.setAudioProcessing(change).catch((err) => this.fail(err));
  }

  setSounds(on: boolean): void {
    this.update({ sounds: on });
  }

  async refreshDevices(): Promise<void> {
    if (typeof navigator === 'undefined' || !navigator.mediaDevices?.enumerateDevices) return;
    const all = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    this.devices = { inputs: all.filter((d) => d.kind === 'audioinput'), outputs: all.filter((d) => d.kind === 'audiooutput') };
    this.changed();
  }

  // ---- streams ----------------------------------------------------------------------------

  /** The desktop app's screens and windows for the picker; undefined in a browser (it has its own picker). */
  desktopSources(): Promise<CaptureSource[]> | undefined {
    return this.deps.desktop?.isDesktop ? this.deps.desktop.captureSources() : undefined;
  }

  /**
   * Captures what to stream: a screen, window or tab (the desktop app first selects the source
   * its picker showed; a browser asks with its own picker), or a camera.
   */
  async capture(source: 'screen' | 'camera', preset: QualityPreset, withAudio: boolean, desktopSourceId?: string): Promise<MediaStream> {
    if (!this.vc || !this.inCall) throw new Error('Join a voice channel first');
    if (source === 'camera') return this.vc.captureCamera(preset);
    if (desktopSourceId) await this.deps.desktop?.selectCaptureSource(desktopSourceId);
    return this.vc.captureScreen(preset, withAudio);
  }

  /** "Go live" with a captured screen, window or camera; ending the capture (the browser's own Stop button) ends the stream. */
  async goLive(media: MediaStream, preset: QualityPreset, content: ContentKind): Promise<void> {
    if (!this.vc || !this.inCall) throw new Error('Join a voice channel first');
    this.update({ preset });
    this.live = { media, preset };
    this.changed();
    media.getVideoTracks()[0]?.addEventListener('ended', () => {
      if (this.live?.media === media) void this.stopLive();
    });
    try {
      await this.vc.goLive(media, { preset, content, streamId: STREAM_ID });
    } catch (err) {
      this.live = undefined;
      media.getTracks().forEach((t) => t.stop());
      throw err;
    } finally {
      this.changed();
    }
  }

  async stopLive(): Promise<void> {
    const live = this.live;
    this.live = undefined;
    live?.media.getTracks().forEach((t) => t.stop());
    this.changed();
    await this.vc?.stopLive(STREAM_ID).catch(() => {});
  }

  async watch(feed: number, userId: string, streamId: string): Promise<void> {
    if (!this.vc) return;
    const media = await this.vc.watch(feed);
    this.watched.set(feed, { feed, userId, streamId, media, layer: 'h' });
    this.changed();
  }

  async unwatch(feed: number): Promise<void> {
    this.watched.delete(feed);
    this.streamStats.delete(feed);
    this.changed();
    await this.vc?.unwatch(feed).catch(() => {});
  }

  async setLayer(feed: number, layer: Layer): Promise<void> {
    const w = this.watched.get(feed);
    if (!w || !this.vc) return;
    w.layer = layer;
    this.changed();
    await this.vc.setLayer(feed, layer).catch((err) => this.fail(err));
  }

  // ---- internals ----------------------------------------------------------------------------

  private async changeMic(change: { muted?: boolean; deafened?: boolean }): Promise<void> {
    this.mic = changeMic(this.mic, change);
    const quieter = change.deafened !== undefined ? this.deafened : this.muted;
    this.cue(quieter ? 'mute' : 'unmute');
    this.changed();
    if (this.inCall && this.vc) await this.vc.setMic(this.mic).catch((err) => this.fail(err));
    else if (this.vc) this.vc.mic = this.mic;
  }

  private connect(): Promise<VoiceConnection> {
    if (this.vc) return Promise.resolve(this.vc);
    this.connecting ??= (async () => {
      const s = this.settings;
      const { VoiceConnection } = await import('../media/voiceConnection.ts');
      const vc = new VoiceConnection({
        homeserverUrl: this.deps.homeserverUrl,
        accessToken: this.deps.accessToken,
        audio: { echoCancellation: s.echoCancellation, noiseSuppression: s.noiseSuppression, autoGainControl: s.autoGainControl },
        inputDeviceId: s.inputDeviceId || undefined,
        outputDeviceId: s.outputDeviceId || undefined,
        ...this.deps.connectionOptions,
      });
      this.listen(vc);
      try {
        await vc.connect();
      } finally {
        this.connecting = undefined;
      }
      this.vc = vc;
      return vc;
    })();
    return this.connecting;
  }

  private listen(vc: VoiceConnection): void {
    vc.addEventListener('speaking', (e) => {
      const { user_id, speaking } = (e as CustomEvent).detail as { user_id: string; speaking: boolean };
      if (speaking) this.speaking.add(user_id);
      else this.speaking.delete(user_id);
      this.changed();
    });
    for (const type of ['feed-added', 'track'] as const) vc.addEventListener(type, () => this.changed());
    vc.addEventListener('feed-removed', (e) => {
      const { feed } = (e as CustomEvent).detail as { feed: number };
      this.watched.delete(feed);
      this.streamStats.delete(feed);
      this.changed();
    });
    vc.addEventListener('reset', () => {
      this.status = 'reconnecting';
      this.changed();
    });
    vc.addEventListener('rejoined', () => {
      this.status = 'connected';
      this.rewatch(vc);
      this.changed();
    });
    vc.addEventListener('left', (e) => {
      // The server ended our call (we left the room or were kicked from it).
      const { room_id } = (e as CustomEvent).detail as { room_id?: string };
      if (room_id && room_id !== this.roomId) return;
      this.roomId = undefined;
      this.status = 'idle';
      this.resetCall();
      this.changed();
    });
    vc.addEventListener('error', (e) => this.fail((e as CustomEvent).detail));
  }

  /** After a rejoin the feeds have new ids: the connection re-watches by user and stream; pick up the new media. */
  private rewatch(vc: VoiceConnection): void {
    const before = [...this.watched.values()];
    this.watched.clear();
    for (const w of before) {
      const feed = [...vc.feeds.values()].find((f: Feed) => f.user_id === w.userId && (f.stream_id ?? STREAM_ID) === w.streamId);
      const media = feed && vc.received.get(feed.feed)?.stream;
      if (feed && media) this.watched.set(feed.feed, { ...w, feed: feed.feed, media });
    }
  }

  private startStats(): void {
    clearInterval(this.statsTimer);
    this.lastSample = undefined;
    this.statsTimer = setInterval(() => void this.sampleStats(), STATS_INTERVAL_MS);
  }

  private async sampleStats(): Promise<void> {
    if (!this.vc || !this.inCall) return;
    const sample: Sample = { stats: await this.vc.getStats(), at: Date.now() };
    this.quality = connectionQuality(this.lastSample, sample);
    for (const feed of this.watched.keys()) {
      const s = streamStats(this.lastSample, sample, feed);
      if (s) this.streamStats.set(feed, s);
    }
    this.lastSample = sample;
    this.changed();
  }

  private resetCall(): void {
    clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    this.lastSample = undefined;
    this.quality = { level: 'unknown' };
    this.roster = undefined;
    this.watched.clear();
    this.streamStats.clear();
    this.speaking.clear();
    this.live?.media.getTracks().forEach((t) => t.stop());
    this.live = undefined;
  }

  /** The desktop app's global push-to-talk key follows the setting. */
  private applyGlobalPtt(): void {
    const desktop = this.deps.desktop;
    if (!desktop?.isDesktop) return;
    const accelerator = this.settings.pushToTalk ? keyAccelerator(this.settings.pttKey) ?? null : null;
    void desktop.setPushToTalkKey(accelerator);
    this.stopGlobalPtt ??= desktop.onPushToTalk(() => {
      this.pttDown();
      clearTimeout(this.globalPttTimer);
      this.globalPttTimer = setTimeout(() => this.pttUp(), GLOBAL_PTT_HOLD_MS);
    });
  }

  private cue(kind: Cue): void {
    if (this.settings.sounds) this.cues.play(kind, this.settings.outputDeviceId || undefined);
  }

  private update(change: Partial<VoiceSettings>): void {
    this.settings = { ...this.settings, ...change };
    saveVoiceSettings(this.deps.storage, this.settings);
    this.changed();
  }

  private fail(err: unknown): void {
    this.error = describeError(err);
    this.changed();
  }

  private changed(): void {
    this.deps.onChange();
  }
}

function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: string; message?: string; error?: string };
    if (e.name === 'NotAllowedError') return 'Microphone access was refused';
    if (e.name === 'NotFoundError') return 'No microphone found';
    return e.message ?? e.error ?? String(err);
  }
  return String(err);
}
