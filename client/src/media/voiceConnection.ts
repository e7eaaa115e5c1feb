/**
 * A client's voice and streaming, framework-free: one signaling WebSocket to the homeserver
 * (/_whisper/client/v1/voice/ws), a PeerConnection publishing the microphone (Opus with FEC
 * and DTX, echo cancellation, noise suppression and auto gain on by default), one per feed
 * received, and an optional "go live" publisher (screen, window, game or any MediaStream)
 * at a quality preset. When the server resets the call (its media server restarted) or the
 * socket drops, it rejoins by itself with the same microphone and stream.
 *
 * Events (a plain EventTarget; `event.detail` holds the data): feed-added {feed, user_id,
 * kind, stream_id?}, feed-removed {feed}, track {feed, user_id, kind, stream}, speaking
 * {user_id, speaking, self} (from received audio levels), talking {user_id, feed, speaking}
 * (as Janus hears it), reset, rejoined, left {reason}, error {errcode, error}.
 */
import { codecOrderFor, DEFAULT_PRESET, PRESETS, preferredCodecs, SIMULCAST_CODECS, VIDEO_CODEC_PREFERENCE, type ContentKind, type QualityPreset } from './quality.ts';
import { changeMic, UNMUTED, type MicState } from './micState.ts';
import { withOpusFecDtx, withVideoStartBitrate } from './sdp.ts';
import { SpeakingDetector, type SpeakingOptions } from './speaking.ts';

export interface Feed {
  feed: number;
  user_id: string;
  kind: 'voice' | 'stream';
  /** Streams: which of the user's streams (several may be live at once). */
  stream_id?: string;
}

/** Simulcast layers, as a viewer asks for them: full, half and quarter resolution. */
export type Layer = 'h' | 'm' | 'l';
const LAYER_INDEX: Record<Layer, number> = { l: 0, m: 1, h: 2 };
/** The stream id of goLive() when none is given. */
export const DEFAULT_STREAM_ID = 'main';

export interface AudioProcessing {
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
}

export interface VoiceConnectionOptions {
  /** The homeserver's base URL (http or https). */
  homeserverUrl: string;
  accessToken: string;
  /** TURN/STUN servers; by default the homeserver's (GET /voip/turnServer, coturn credentials). */
  iceServers?: RTCIceServer[];
  /** 'relay' sends media only through TURN (hides the user's address from Janus). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Play received audio (one audio element per feed, with per-user volume); on by default. */
  playAudio?: boolean;
  /** Speaking detection: level threshold (0..1) and how long quiet ends speaking. */
  speaking?: Partial<SpeakingOptions>;
  /** Push-to-talk: how long the microphone stays open after the key is released. */
  pttReleaseMs?: number;
  audio?: Partial<AudioProcessing>;
  /** The microphone to use (a deviceId from enumerateDevices); the default one otherwise. */
  inputDeviceId?: string;
  /** Where received audio plays (a sinkId for setSinkId); the default output otherwise. */
  outputDeviceId?: string;
  /** Feeds of these kinds are received as soon as they appear (streams are watched on demand). */
  autoSubscribe?: Array<Feed['kind']>;
}

export interface GoLiveOptions {
  preset?: QualityPreset;
  content?: ContentKind;
  /** Restrict the codecs offered (both ends must support them); default AV1, VP9, H.264, VP8 (VP8 and H.264 with simulcast). */
  codecs?: string[];
  /** Names this stream among the user's streams (default "main"); going live again with it replaces it. */
  streamId?: string;
  /**
   * Send three layers (full, 1/2, 1/4 resolution) so each viewer can take the one its link
   * carries without lowering anyone else's; costs the sender about a third more encoding.
   * On by default.
   */
  simulcast?: boolean;
}

type Signal = Record<string, any>;

const LEVEL_POLL_MS = 150;
const DEFAULT_PTT_RELEASE_MS = 200;
/** TURN credentials are fetched again this long before they expire. */
const TURN_REFRESH_MARGIN_MS = 60_000;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

export class VoiceConnection extends EventTarget {
  readonly options: VoiceConnectionOptions;
  roomId: string | undefined;
  /** This connection's user (known once connected). */
  userId: string | undefined;
  /** Mute and deafen (deafening mutes too: micState.ts). */
  mic: MicState = UNMUTED;
  /** Push-to-talk on: the microphone sends only while the key is held (pttDown … pttUp). */
  pushToTalk = false;
  /** Users speaking now (this user included), by their audio levels. */
  readonly speaking = new Set<string>();
  /** Users talking as the media server hears them (known even while deafened or not receiving). */
  readonly talking = new Set<string>();
  /** Feeds in the channel, by id. */
  readonly feeds = new Map<number, Feed>();
  /** Received feeds: their PeerConnection and media. */
  readonly received = new Map<number, { sub: string; pc: RTCPeerConnection; stream: MediaStream; feed: Feed }>();

  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (m: Signal) => void; reject: (e: Error) => void }>();
  private microphone: MediaStream | undefined;
  /** 'voice', and `stream:${streamId}` per live stream. */
  private publishers = new Map<string, RTCPeerConnection>();
  /** This user's live streams by stream id, to republish after a rejoin. */
  private readonly live = new Map<string, { stream: MediaStream; options: GoLiveOptions }>();
  /** Streams the user chose to watch, as `${user_id}|${stream_id}` (feed ids change when calls are rebuilt). */
  private readonly watching = new Set<string>();
  /** Layers the user asked for, by the same key. */
  private readonly layers = new Map<string, Layer>();
  private closed = false;
  private pttHeld = false;
  private pttTimer: ReturnType<typeof setTimeout> | undefined;
  private levelTimer: ReturnType<typeof setInterval> | undefined;
  private readonly detector: SpeakingDetector;
  /** Volume per user (0..1) for their voice, and for their streams' audio. */
  private readonly volumes = new Map<string, number>();
  private readonly streamVolumes = new Map<string, number>();
  /** Received audio being played, by feed. */
  private readonly players = new Map<number, HTMLAudioElement>();
  /** When each received voice's synchronization source last played, as of the last level poll. */
  private readonly sourceTimes = new WeakMap<RTCRtpReceiver, Map<number, number>>();
  private iceServers: RTCIceServer[] | undefined;
  private iceServersExpire = Infinity;
  private rejoining: Promise<void> | undefined;
  private reconnectMs = RECONNECT_MIN_MS;

  constructor(options: VoiceConnectionOptions) {
    super();
    this.options = options;
    this.detector = new SpeakingDetector(options.speaking);
  }

  /** Opens the signaling socket and authenticates. */
  async connect(): Promise<void> {
    const url = this.options.homeserverUrl.replace(/^http/, 'ws').replace(/\/+$/, '') + '/_whisper/client/v1/voice/ws';
    const ws = new WebSocket(url);
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', access_token: this.options.accessToken }));
      ws.onerror = () => reject(new Error('voice signaling connection failed'));
      ws.onmessage = (e) => {
        const m = JSON.parse(String(e.data)) as Signal;
        if (m.type === 'ready') {
          this.userId = m.user_id;
          ws.onmessage = (ev) => this.onSignal(JSON.parse(String(ev.data)) as Signal);
          resolve();
        } else reject(new Error(m.error ?? 'voice signaling refused'));
      };
    });
    ws.onclose = () => this.onSocketClosed(ws);
    this.reconnectMs = RECONNECT_MIN_MS;
  }

  /** Joins a voice channel: asks for the microphone, publishes it, receives the others. */
  async join(roomId: string): Promise<void> {
    this.roomId = roomId;
    await this.ensureIceServers();
    this.microphone ??= await navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints(), video: false });
    this.applyMute();
    this.levelTimer ??= setInterval(() => void this.pollLevels(), LEVEL_POLL_MS);
    const joined = await this.request({ type: 'join', room_id: roomId, muted: this.muted, deafened: this.deafened });
    await this.publish('voice', this.microphone, {});
    for (const feed of joined.feeds as Feed[]) this.addFeed(feed);
  }

  get muted(): boolean {
    return this.mic.muted;
  }

  get deafened(): boolean {
    return this.mic.deafened;
  }

  /** Unmuting while deafened undeafens too. */
  setMuted(muted: boolean): Promise<void> {
    return this.setMic(changeMic(this.mic, { muted }));
  }

  /** Deafened: nothing is played (the received tracks are disabled) and the microphone is muted; undeafening restores the mute from before. */
  setDeafened(deafened: boolean): Promise<void> {
    return this.setMic(changeMic(this.mic, { deafened }));
  }

  /** A whole mute/deafen state (as changeMic makes it): the microphone, playback and the roster others see follow it. */
  setMic(mic: MicState): Promise<void> {
    this.mic = mic;
    this.applyMute();
    for (const r of this.received.values()) for (const t of r.stream.getAudioTracks()) t.enabled = !mic.deafened;
    for (const el of this.players.values()) el.muted = mic.deafened;
    return this.request({ type: 'state', muted: mic.muted, deafened: mic.deafened }).then(() => undefined);
  }

  /** Push-to-talk on or off; while on, the microphone sends only between pttDown() and pttUp(). */
  setPushToTalk(enabled: boolean): void {
    this.pushToTalk = enabled;
    this.pttHeld = false;
    clearTimeout(this.pttTimer);
    this.applyMute();
  }

  pttDown(): void {
    clearTimeout(this.pttTimer);
    this.pttHeld = true;
    this.applyMute();
  }

  /** The key was released: the microphone closes a moment later (the end of the last word). */
  pttUp(): void {
    clearTimeout(this.pttTimer);
    this.pttTimer = setTimeout(() => {
      this.pttHeld = false;
      this.applyMute();
    }, this.options.pttReleaseMs ?? DEFAULT_PTT_RELEASE_MS);
  }

  /** Whether the microphone is sending now (not muted, and the push-to-talk key held if that is on). */
  get transmitting(): boolean {
    return !this.muted && (!this.pushToTalk || this.pttHeld);
  }

  /** Volume (0..1) of a user's voice, or of their streams' audio, for this listener only. */
  setVolume(userId: string, volume: number, of: 'voice' | 'stream' = 'voice'): void {
    const v = Math.min(1, Math.max(0, volume));
    (of === 'voice' ? this.volumes : this.streamVolumes).set(userId, v);
    for (const [feed, el] of this.players) {
      const r = this.received.get(feed);
      if (r && r.feed.user_id === userId && r.feed.kind === of) el.volume = v;
    }
  }

  volumeOf(userId: string, of: 'voice' | 'stream' = 'voice'): number {
    return (of === 'voice' ? this.volumes : this.streamVolumes).get(userId) ?? 1;
  }

  /** Changes echo cancellation, noise suppression or auto gain on the live microphone. */
  async setAudioProcessing(change: Partial<AudioProcessing>): Promise<void> {
    this.options.audio = { ...this.options.audio, ...change };
    await this.microphone?.getAudioTracks()[0]?.applyConstraints(this.audioConstraints());
  }

  /** Switches to another microphone mid-call: the new track replaces the old one on the same connection. */
  async setInputDevice(deviceId: string | undefined): Promise<void> {
    this.options.inputDeviceId = deviceId || undefined;
    if (!this.microphone) return;
    const next = await navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints(), video: false });
    const track = next.getAudioTracks()[0];
    const sender = this.publishers.get('voice')?.getSenders().find((s) => s.track?.kind === 'audio');
    await sender?.replaceTrack(track);
    this.microphone.getTracks().forEach((t) => t.stop());
    this.microphone = next;
    this.applyMute();
  }

  /** Plays received audio on another output device (browsers with HTMLMediaElement.setSinkId). */
  async setOutputDevice(sinkId: string | undefined): Promise<void> {
    this.options.outputDeviceId = sinkId || undefined;
    await Promise.all([...this.players.values()].map((el) => sinkTo(el, sinkId ?? '')));
  }

  /** Screen, window or game capture (with system audio when the browser offers it). */
  async captureScreen(preset: QualityPreset = DEFAULT_PRESET, withAudio = true): Promise<MediaStream> {
    const p = PRESETS[preset];
    return navigator.mediaDevices.getDisplayMedia({
      video: { width: p.width ? { ideal: p.width } : undefined, height: p.height ? { ideal: p.height } : undefined, frameRate: p.frameRate ? { ideal: p.frameRate } : undefined },
      audio: withAudio,
    });
  }

  /** A camera to stream, at the preset's size and rate where the camera offers them. */
  async captureCamera(preset: QualityPreset = DEFAULT_PRESET): Promise<MediaStream> {
    const p = PRESETS[preset];
    return navigator.mediaDevices.getUserMedia({
      video: { width: p.width ? { ideal: p.width } : undefined, height: p.height ? { ideal: p.height } : undefined, frameRate: p.frameRate ? { ideal: p.frameRate } : undefined },
      audio: false,
    });
  }

  /** Publishes a stream ("go live") as one more publisher in the channel; a user may run several. */
  async goLive(stream: MediaStream, options: GoLiveOptions = {}): Promise<number> {
    const streamId = options.streamId ?? DEFAULT_STREAM_ID;
    this.live.set(streamId, { stream, options });
    return this.publish('stream', stream, options, streamId);
  }

  async stopLive(streamId = DEFAULT_STREAM_ID): Promise<void> {
    this.live.delete(streamId);
    this.publishers.get(`stream:${streamId}`)?.close();
    this.publishers.delete(`stream:${streamId}`);
    await this.request({ type: 'unpublish', kind: 'stream', stream_id: streamId });
  }

  /**
   * Asks for a simulcast layer of a watched stream (h full, m half, l quarter resolution):
   * only this viewer's copy changes, everyone else keeps theirs.
   */
  async setLayer(feed: number, layer: Layer): Promise<void> {
    const r = this.received.get(feed);
    if (!r) throw new Error(`feed ${feed} is not watched`);
    this.layers.set(watchKey(r.feed), layer);
    await this.request({ type: 'layer', sub: r.sub, substream: LAYER_INDEX[layer] });
  }

  /** Starts receiving a feed (voice feeds are received by default; streams when watched). */
  async watch(feed: number): Promise<MediaStream> {
    const existing = this.received.get(feed);
    if (existing) return existing.stream;
    const info = this.feeds.get(feed) ?? { feed, user_id: '', kind: 'stream' as const };
    if (info.kind === 'stream') this.watching.add(watchKey(info));
    const offer = await this.request({ type: 'subscribe', feed });
    const pc = this.newPeerConnection(offer.sub);
    const stream = new MediaStream();
    this.received.set(feed, { sub: offer.sub, pc, stream, feed: info });
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      if (e.track.kind === 'audio') {
        e.track.enabled = !this.deafened;
        if (this.options.playAudio !== false) this.play(feed, info, stream);
      }
      this.emit('track', { ...info, stream });
    };
    await pc.setRemoteDescription(offer.jsep);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.request({ type: 'answer', sub: offer.sub, jsep: { type: 'answer', sdp: pc.localDescription!.sdp } });
    const layer = this.layers.get(watchKey(info));
    if (layer && layer !== 'h') await this.request({ type: 'layer', sub: offer.sub, substream: LAYER_INDEX[layer] });
    return stream;
  }

  async unwatch(feed: number): Promise<void> {
    const r = this.received.get(feed);
    if (!r) return;
    this.received.delete(feed);
    this.watching.delete(watchKey(r.feed));
    this.layers.delete(watchKey(r.feed));
    this.stopPlaying(feed);
    r.pc.close();
    await this.request({ type: 'unsubscribe', sub: r.sub });
  }

  async leave(): Promise<void> {
    this.roomId = undefined;
    this.teardown();
    await this.request({ type: 'leave' }).catch(() => {});
  }

  /** Closes everything, microphone included. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.levelTimer);
    this.levelTimer = undefined;
    clearTimeout(this.pttTimer);
    await this.leave();
    this.microphone?.getTracks().forEach((t) => t.stop());
    this.microphone = undefined;
    this.ws?.close();
  }

  /** Stats of every PeerConnection, summed into what a UI shows. */
  async getStats(): Promise<VoiceStats> {
    const out: VoiceStats = { publishers: {}, received: {} };
    for (const [key, pc] of this.publishers) {
      out.publishers[key] = summarize(await pc.getStats());
      if (key === `stream:${DEFAULT_STREAM_ID}`) out.publishers.stream = out.publishers[key];
    }
    for (const [feed, r] of this.received) out.received[feed] = { ...summarize(await r.pc.getStats()), user_id: r.feed.user_id, kind: r.feed.kind };
    return out;
  }

  // --- internals -------------------------------------------------------------------------

  private audioConstraints(): MediaTrackConstraints {
    const a = this.options.audio ?? {};
    return {
      echoCancellation: a.echoCancellation ?? true,
      noiseSuppression: a.noiseSuppression ?? true,
      autoGainControl: a.autoGainControl ?? true,
      channelCount: 1,
      ...(this.options.inputDeviceId ? { deviceId: { exact: this.options.inputDeviceId } } : {}),
    };
  }

  private applyMute(): void {
    for (const t of this.microphone?.getAudioTracks() ?? []) t.enabled = this.transmitting;
  }

  private play(feed: number, info: Feed, stream: MediaStream): void {
    let el = this.players.get(feed);
    if (!el) {
      el = new Audio();
      el.autoplay = true;
      this.players.set(feed, el);
    }
    el.srcObject = stream;
    el.muted = this.deafened;
    el.volume = this.volumeOf(info.user_id, info.kind);
    if (this.options.outputDeviceId) void sinkTo(el, this.options.outputDeviceId);
    el.play().catch(() => {}); // autoplay refused until the user interacts: the UI retries on a click
  }

  private stopPlaying(feed: number): void {
    const el = this.players.get(feed);
    if (!el) return;
    el.pause();
    el.srcObject = null;
    this.players.delete(feed);
  }

  /**
   * Speaking indicators: each voice's level as received (own: as captured, while sending).
   * Every 150 ms, so it must be cheap: a received voice's level is the one its packets carry
   * (the sender's RFC 6464 header extension, read from the receiver's synchronization source),
   * and the own level is read only while the microphone sends. A full getStats() report per
   * PeerConnection each time (what this did before) cost every page in a call CPU that its
   * stream's encoder and decoders then lacked (bench/voice).
   */
  private async pollLevels(): Promise<void> {
    const now = Date.now();
    const levels = new Map<string, number>();
    const voice = this.publishers.get('voice');
    if (voice && this.userId) {
      let level = 0;
      if (this.transmitting) {
        (await voice.getStats()).forEach((r: any) => {
          if (r.type === 'media-source' && r.kind === 'audio') level = r.audioLevel ?? 0;
        });
      }
      levels.set(this.userId, level);
    }
    for (const r of this.received.values()) {
      if (r.feed.kind !== 'voice') continue;
      levels.set(r.feed.user_id, Math.max(this.receivedLevel(r.pc), levels.get(r.feed.user_id) ?? 0));
    }
    for (const [userId, level] of levels) this.speakingChanged(userId, this.detector.update(userId, level, now));
    for (const userId of this.detector.speakers) if (!levels.has(userId)) this.speakingChanged(userId, this.detector.forget(userId) ? false : undefined);
  }

  /**
   * The level of the latest audio played from a received PeerConnection, 0 when nothing new
   * played since the last poll (a muted user's audio stops: Janus relays none of it, and the
   * last packet's level would otherwise stay).
   */
  private receivedLevel(pc: RTCPeerConnection): number {
    let level = 0;
    for (const receiver of pc.getReceivers()) {
      if (receiver.track.kind !== 'audio') continue;
      const seen = this.sourceTimes.get(receiver) ?? new Map<number, number>();
      this.sourceTimes.set(receiver, seen);
      for (const source of receiver.getSynchronizationSources()) {
        if (seen.get(source.source) !== source.timestamp) level = Math.max(level, source.audioLevel ?? 0);
        seen.set(source.source, source.timestamp);
      }
    }
    return level;
  }

  private speakingChanged(userId: string, change: boolean | undefined): void {
    if (change === undefined) return;
    if (change) this.speaking.add(userId);
    else this.speaking.delete(userId);
    this.emit('speaking', { user_id: userId, speaking: change, self: userId === this.userId });
  }

  /** The homeserver's TURN servers (time-limited coturn credentials), unless given in the options. */
  private async ensureIceServers(): Promise<void> {
    if (this.options.iceServers || (this.iceServers && Date.now() < this.iceServersExpire)) return;
    try {
      const base = this.options.homeserverUrl.replace(/\/+$/, '');
      const res = await fetch(`${base}/_matrix/client/v3/voip/turnServer`, { headers: { authorization: `Bearer ${this.options.accessToken}` } });
      const body = res.ok ? ((await res.json()) as { uris?: string[]; username?: string; password?: string; ttl?: number }) : {};
      this.iceServers = body.uris?.length ? [{ urls: body.uris, username: body.username, credential: body.password }] : [];
      this.iceServersExpire = body.ttl ? Date.now() + body.ttl * 1000 - TURN_REFRESH_MARGIN_MS : Infinity;
    } catch {
      // No TURN: host and server-reflexive candidates still work on open networks.
      this.iceServers = [];
      this.iceServersExpire = Date.now() + TURN_REFRESH_MARGIN_MS;
    }
  }

  private async publish(kind: 'voice' | 'stream', stream: MediaStream, options: GoLiveOptions, streamId = DEFAULT_STREAM_ID): Promise<number> {
    const key = kind === 'voice' ? 'voice' : `stream:${streamId}`;
    this.publishers.get(key)?.close();
    const pc = this.newPeerConnection(key);
    this.publishers.set(key, pc);
    const preset = PRESETS[options.preset ?? DEFAULT_PRESET];
    const simulcast = kind === 'stream' && (options.simulcast ?? true);
    let codec: string | undefined;
    for (const track of stream.getTracks()) {
      if (track.kind === 'video') {
        track.contentHint = options.content === 'motion' || !options.content ? 'motion' : options.content;
        const fps = preset.frameRate ? { maxFramerate: preset.frameRate } : {};
        const t = pc.addTransceiver(track, {
          direction: 'sendonly', streams: [stream],
          // Janus takes rids highest first (h, m, l); each layer gets its share of the bitrate.
          sendEncodings: simulcast
            ? [
                { rid: 'h', maxBitrate: preset.maxBitrate, scaleResolutionDownBy: 1, ...fps },
                { rid: 'm', maxBitrate: Math.round(preset.maxBitrate / 4), scaleResolutionDownBy: 2, ...fps },
                { rid: 'l', maxBitrate: Math.round(preset.maxBitrate / 16), scaleResolutionDownBy: 4, ...fps },
              ]
            : [{ maxBitrate: preset.maxBitrate, scaleResolutionDownBy: 1, ...fps }],
        });
        // Janus relays simulcast of VP8 and H.264. Without a choice, hardware encoders first, then the cheapest software one.
        const order = options.codecs ?? (await codecOrderFor(preset, simulcast ? SIMULCAST_CODECS : VIDEO_CODEC_PREFERENCE));
        // Only the chosen codec is offered: Janus would otherwise pick by its room's own order.
        const capabilities = RTCRtpSender.getCapabilities('video');
        const chosen = order.find((c) => capabilities?.codecs.some((k) => k.mimeType.toLowerCase() === c.toLowerCase()));
        const codecs = preferredCodecs(capabilities, chosen ? [chosen] : order);
        if (codecs.length) t.setCodecPreferences(codecs);
        codec = codecs[0]?.mimeType;
        const params = t.sender.getParameters();
        params.degradationPreference = options.content === 'detail' || options.content === 'text' ? 'maintain-resolution' : 'maintain-framerate';
        await t.sender.setParameters(params).catch(() => {});
      } else {
        pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      }
    }
    const offer = await pc.createOffer();
    offer.sdp = withOpusFecDtx(offer.sdp!);
    await pc.setLocalDescription(offer);
    const settings = stream.getVideoTracks()[0]?.getSettings();
    const description = {
      ...(settings?.width ? { width: settings.width } : preset.width ? { width: preset.width } : {}),
      ...(settings?.height ? { height: settings.height } : preset.height ? { height: preset.height } : {}),
      ...(preset.frameRate ?? settings?.frameRate ? { fps: preset.frameRate ?? settings?.frameRate } : {}),
      ...(codec ? { codec: codec.replace(/^video\//, '') } : {}),
      has_audio: stream.getAudioTracks().length > 0,
      layers: simulcast ? ['h', 'm', 'l'] : [],
    };
    const answer = await this.request({
      type: 'publish', kind, jsep: { type: 'offer', sdp: offer.sdp },
      ...(kind === 'stream' ? { quality: options.preset ?? DEFAULT_PRESET, stream_id: streamId, description } : {}),
    });
    let sdp = withOpusFecDtx(answer.jsep.sdp as string);
    if (kind === 'stream') sdp = withVideoStartBitrate(sdp, preset.startBitrate);
    await pc.setRemoteDescription({ type: 'answer', sdp });
    return answer.feed as number;
  }

  private newPeerConnection(target: string): RTCPeerConnection {
    const pc = new RTCPeerConnection({
      iceServers: this.options.iceServers ?? this.iceServers ?? [], bundlePolicy: 'max-bundle',
      ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
    });
    pc.onicecandidate = (e) => {
      const candidate = e.candidate ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } : null;
      this.request({ type: 'trickle', target, candidate }).catch(() => {});
    };
    return pc;
  }

  private addFeed(feed: Feed): void {
    this.feeds.set(feed.feed, feed);
    this.emit('feed-added', feed);
    const auto = this.options.autoSubscribe ?? ['voice'];
    if (auto.includes(feed.kind) || (feed.kind === 'stream' && this.watching.has(watchKey(feed)))) {
      this.watch(feed.feed).catch((err) => this.emit('error', { error: String(err) }));
    }
  }

  private removeFeed(feed: number): void {
    this.feeds.delete(feed);
    const r = this.received.get(feed);
    if (r) {
      r.pc.close();
      this.received.delete(feed);
    }
    this.stopPlaying(feed);
    this.emit('feed-removed', { feed });
  }

  private onSignal(m: Signal): void {
    if (m.id !== undefined && this.pending.has(String(m.id))) {
      const p = this.pending.get(String(m.id))!;
      this.pending.delete(String(m.id));
      if (m.type === 'error') p.reject(Object.assign(new Error(m.error), { errcode: m.errcode, status: m.status }));
      else p.resolve(m);
      return;
    }
    switch (m.type) {
      case 'feeds':
        for (const f of m.added as Feed[]) this.addFeed(f);
        for (const f of m.removed as number[]) this.removeFeed(f);
        break;
      case 'reset':
        this.emit('reset', m);
        void this.rejoin();
        break;
      case 'left':
        this.roomId = undefined;
        this.teardown();
        this.emit('left', m);
        break;
      case 'speaking':
        if (m.speaking) this.talking.add(m.user_id);
        else this.talking.delete(m.user_id);
        this.emit('talking', { user_id: m.user_id, feed: m.feed, speaking: m.speaking });
        break;
      case 'subscription_ended':
        for (const [feed, r] of this.received) if (r.sub === m.sub) this.removeFeed(feed);
        break;
      case 'error':
        this.emit('error', m);
        break;
    }
  }

  /** Rebuilds the call after a reset or reconnect: same room, microphone, stream and watched streams. */
  private rejoin(): Promise<void> {
    this.rejoining ??= (async () => {
      const roomId = this.roomId;
      this.teardown();
      if (!roomId || this.closed) return;
      for (let attempt = 0; attempt < 20 && !this.closed; attempt++) {
        try {
          await this.join(roomId);
          for (const [streamId, l] of this.live) await this.publish('stream', l.stream, l.options, streamId);
          this.emit('rejoined', { room_id: roomId });
          return;
        } catch (err) {
          this.teardown();
          await new Promise((r) => setTimeout(r, Math.min(2000, 200 * (attempt + 1))));
        }
      }
    })().finally(() => {
      this.rejoining = undefined;
    });
    return this.rejoining;
  }

  private teardown(): void {
    for (const pc of this.publishers.values()) pc.close();
    this.publishers.clear();
    for (const r of this.received.values()) r.pc.close();
    this.received.clear();
    this.feeds.clear();
    for (const feed of [...this.players.keys()]) this.stopPlaying(feed);
    for (const userId of this.detector.speakers) this.speakingChanged(userId, this.detector.forget(userId) ? false : undefined);
  }

  private onSocketClosed(ws: WebSocket): void {
    if (ws !== this.ws || this.closed) return;
    for (const p of this.pending.values()) p.reject(new Error('voice signaling connection closed'));
    this.pending.clear();
    const retry = async () => {
      try {
        await this.connect();
        if (this.roomId) await this.rejoin();
      } catch {
        this.reconnectMs = Math.min(RECONNECT_MAX_MS, this.reconnectMs * 2);
        setTimeout(retry, this.reconnectMs);
      }
    };
    setTimeout(retry, this.reconnectMs);
  }

  private request(body: Signal): Promise<Signal> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('voice signaling is not connected'));
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...body, id }));
    });
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

export interface MediaSummary {
  bytesSent: number;
  bytesReceived: number;
  packetsLost: number;
  packetsReceived?: number;
  /** Receivers of video: the average time a frame waited in the jitter buffer (ms). */
  jitterBufferMs?: number;
  audioLevel?: number;
  framesDecoded?: number;
  framesEncoded?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  codec?: string;
  roundTripTime?: number;
  /** Senders: why the encoder lowers quality now (cpu, bandwidth, none) and which encoder it is. */
  qualityLimitationReason?: string;
  encoderImplementation?: string;
  framesSent?: number;
  /** Senders with simulcast: each layer. */
  layers?: Array<{ rid?: string; frameWidth?: number; frameHeight?: number; framesEncoded?: number; framesPerSecond?: number; bytesSent?: number; targetBitrate?: number; qualityLimitationReason?: string }>;
  /** Receivers: frames the jitter buffer dropped, freezes, and which decoder it is. */
  framesDropped?: number;
  freezeCount?: number;
  decoderImplementation?: string;
}

/** setSinkId where the browser has it (not every one does); a device that went away is ignored. */
async function sinkTo(el: HTMLMediaElement, sinkId: string): Promise<void> {
  const media = el as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  await media.setSinkId?.(sinkId).catch(() => {});
}

function watchKey(feed: Feed): string {
  return `${feed.user_id}|${feed.stream_id ?? DEFAULT_STREAM_ID}`;
}

export interface VoiceStats {
  /** 'voice', and `stream:${streamId}` per live stream ('stream' is the default stream too). */
  publishers: Record<string, MediaSummary>;
  received: Record<number, MediaSummary & { user_id: string; kind: string }>;
}

/** Sums a PeerConnection's RTP stats into one line per connection. */
export function summarize(report: RTCStatsReport): MediaSummary {
  const s: MediaSummary = { bytesSent: 0, bytesReceived: 0, packetsLost: 0 };
  const codecs = new Map<string, string>();
  report.forEach((r: any) => {
    if (r.type === 'codec') codecs.set(r.id, r.mimeType);
  });
  report.forEach((r: any) => {
    if (r.type === 'outbound-rtp') {
      s.bytesSent += r.bytesSent ?? 0;
      if (r.kind === 'video') {
        // Simulcast sends one outbound-rtp per layer: each is listed, the fullest one summarised.
        (s.layers ??= []).push({ rid: r.rid, frameWidth: r.frameWidth, frameHeight: r.frameHeight, framesEncoded: r.framesEncoded, framesPerSecond: r.framesPerSecond, bytesSent: r.bytesSent, targetBitrate: r.targetBitrate, qualityLimitationReason: r.qualityLimitationReason });
        if (s.frameWidth !== undefined && (r.frameWidth ?? 0) <= s.frameWidth) return;
        Object.assign(s, {
          framesEncoded: r.framesEncoded, framesSent: r.framesSent, frameWidth: r.frameWidth, frameHeight: r.frameHeight, framesPerSecond: r.framesPerSecond,
          codec: codecs.get(r.codecId), qualityLimitationReason: r.qualityLimitationReason, encoderImplementation: r.encoderImplementation,
        });
      }
    } else if (r.type === 'inbound-rtp') {
      s.bytesReceived += r.bytesReceived ?? 0;
      s.packetsLost += r.packetsLost ?? 0;
      s.packetsReceived = (s.packetsReceived ?? 0) + (r.packetsReceived ?? 0);
      if (r.kind === 'audio') s.audioLevel = r.audioLevel;
      if (r.kind === 'video') {
        Object.assign(s, {
          framesDecoded: r.framesDecoded, frameWidth: r.frameWidth, frameHeight: r.frameHeight, framesPerSecond: r.framesPerSecond, codec: codecs.get(r.codecId),
          framesDropped: r.framesDropped, freezeCount: r.freezeCount, decoderImplementation: r.decoderImplementation,
          jitterBufferMs: r.jitterBufferEmittedCount ? (r.jitterBufferDelay / r.jitterBufferEmittedCount) * 1000 : undefined,
        });
      }
    } else if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime !== undefined) {
      s.roundTripTime = r.currentRoundTripTime;
    }
  });
  return s;
}
