/**
 * The VideoRoom plugin's requests, as the homeserver uses them: one Janus room per voice
 * channel (random secret and pin that only the homeserver knows), publishers (a user's voice,
 * a user's stream) and subscribers (one PeerConnection per watched feed).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { JanusHandle, JanusMessage, JanusSession, Jsep } from './janusConnection.ts';

export const VIDEOROOM_PLUGIN = 'janus.plugin.videoroom';

export interface JanusRoom {
  room: number;
  secret: string;
  pin: string;
}

/** What a feed is, carried in the VideoRoom `display` so every handle's events say it. */
export interface FeedInfo {
  userId: string;
  kind: 'voice' | 'stream';
  /** Streams: which of the user's streams. */
  streamId?: string;
}

export interface Feed extends FeedInfo {
  feed: number;
}

/** Screen streams of 1080p60 and above need room for 8–12 Mbit/s and more (4K60). */
const ROOM_BITRATE_CAP = 40_000_000;

/** A new room's number, secret and pin (random; the pin and secret only the homeserver knows). */
export function newRoomParams(): JanusRoom {
  return { room: randomInt(1, 2 ** 47), secret: randomBytes(18).toString('base64url'), pin: randomBytes(18).toString('base64url') };
}

/** Janus's VideoRoom error codes this module relies on. */
export const NO_SUCH_ROOM = 426;
const ROOM_EXISTS = 427;

/**
 * Makes the room in Janus unless it is there already (another server process, or this one
 * before, made it): every process sharing a Janus can call this with the same room.
 */
export async function ensureRoom(control: JanusHandle, adminKey: string | undefined, description: string, room: JanusRoom): Promise<void> {
  try {
    await createRoom(control, adminKey, description, room);
  } catch (err) {
    if ((err as { code?: unknown }).code !== ROOM_EXISTS) throw err;
  }
}

export async function createRoom(control: JanusHandle, adminKey: string | undefined, description: string, room: JanusRoom = newRoomParams()): Promise<JanusRoom> {
  await control.request({
    request: 'create',
    ...(adminKey ? { admin_key: adminKey } : {}),
    room: room.room,
    secret: room.secret,
    pin: room.pin,
    description: description.slice(0, 100),
    is_private: true,
    permanent: false,
    publishers: 64,
    bitrate: ROOM_BITRATE_CAP,
    bitrate_cap: false,
    // No keyframes on a timer: Janus asks a publisher for one when a viewer starts, switches
    // layers or reports loss (PLI), which is all a viewer needs. Every 10 s (Janus's demos'
    // setting) a 1080p keyframe to everyone only delayed the frames behind it (bench/voice).
    fir_freq: 0,
    audiocodec: 'opus',
    videocodec: 'av1,vp9,h264,vp8',
    // Opus in-band FEC and DTX: Janus puts them in its SDP when the clients offer them.
    opus_fec: true,
    opus_dtx: true,
    audiolevel_ext: true,
    audiolevel_event: true,
    // Talking events: the average level (dBov, 127 silent) of the last 25 packets (½ s), under 55.
    audio_active_packets: 25,
    audio_level_average: 55,
    videoorient_ext: true,
    playoutdelay_ext: true,
    transport_wide_cc_ext: true,
    notify_joining: false,
  });
  return room;
}

/** The room's publishers Janus hears talking now (its audio-level averaging), for a call that joins late. */
export async function talkingFeeds(control: JanusHandle, room: JanusRoom): Promise<number[]> {
  const reply = await control.request({ request: 'listparticipants', room: room.room, secret: room.secret });
  const list = Array.isArray(reply.participants) ? (reply.participants as Array<{ id?: unknown; talking?: unknown }>) : [];
  return list.filter((p) => p.talking === true && typeof p.id === 'number').map((p) => p.id as number);
}

export async function destroyRoom(control: JanusHandle, room: JanusRoom): Promise<void> {
  await control.request({ request: 'destroy', room: room.room, secret: room.secret, permanent: false });
}

export function encodeDisplay(info: FeedInfo): string {
  return JSON.stringify(info.streamId ? [info.kind, info.userId, info.streamId] : [info.kind, info.userId]);
}

export function decodeDisplay(display: unknown): FeedInfo | undefined {
  try {
    const [kind, userId, streamId] = JSON.parse(String(display)) as [unknown, unknown, unknown];
    if ((kind === 'voice' || kind === 'stream') && typeof userId === 'string') return { kind, userId, ...(typeof streamId === 'string' ? { streamId } : {}) };
  } catch {
    // not one of ours
  }
  return undefined;
}

function feedsOf(list: unknown): Feed[] {
  if (!Array.isArray(list)) return [];
  const feeds: Feed[] = [];
  for (const p of list as Array<{ id?: unknown; display?: unknown }>) {
    const info = decodeDisplay(p.display);
    if (typeof p.id === 'number' && info) feeds.push({ feed: p.id, ...info });
  }
  return feeds;
}

/** Events a publisher handle receives about the other feeds of its room. */
export interface PublisherEvents {
  published(feeds: Feed[]): void;
  unpublished(feed: number): void;
  /** Janus hung up or dropped the handle (ICE failure, the media server went away). */
  gone(reason: string): void;
  /** A feed of the room started or stopped talking (Janus averages its RTP audio levels). */
  talking?(feed: number, talking: boolean): void;
}

/** A publisher in a room: attaches, joins, and answers the client's offer. */
export class Publisher {
  readonly handle: JanusHandle;
  readonly feed: number;
  /** The feeds already in the room when this publisher joined. */
  readonly existing: Feed[];

  private constructor(handle: JanusHandle, feed: number, existing: Feed[]) {
    this.handle = handle;
    this.feed = feed;
    this.existing = existing;
  }

  static async join(session: JanusSession, room: JanusRoom, info: FeedInfo, events: PublisherEvents): Promise<Publisher> {
    const handle = await session.attach(VIDEOROOM_PLUGIN, (event) => dispatchPublisherEvent(event, events));
    try {
      const { data } = await handle.message({ request: 'join', ptype: 'publisher', room: room.room, pin: room.pin, display: encodeDisplay(info) });
      return new Publisher(handle, Number(data.id), feedsOf(data.publishers));
    } catch (err) {
      await handle.detach();
      throw err;
    }
  }

  /** Publishes the client's offer; resolves with Janus's answer. */
  async publish(offer: Jsep, opts: { bitrate?: number; audio?: boolean; video?: boolean }): Promise<Jsep> {
    const { jsep } = await this.handle.message(
      { request: 'configure', ...(opts.bitrate ? { bitrate: opts.bitrate } : {}) },
      offer,
    );
    if (!jsep) throw new Error('Janus gave no answer to the offer');
    return jsep;
  }

  async setMuted(muted: boolean): Promise<void> {
    // Janus stops relaying the audio of a muted publisher (even if the client keeps sending).
    await this.handle.message({ request: 'configure', streams: [{ mid: '0', send: !muted }] }).catch(() => {});
  }

  async leave(): Promise<void> {
    await this.handle.message({ request: 'leave' }).catch(() => {});
    await this.handle.detach();
  }
}

function dispatchPublisherEvent(event: JanusMessage, events: PublisherEvents): void {
  if (event.janus === 'hangup' || event.janus === 'detached') {
    events.gone(String(event.reason ?? event.janus));
    return;
  }
  const data = event.plugindata?.data;
  if (!data) return;
  if ((data.videoroom === 'talking' || data.videoroom === 'stopped-talking') && typeof data.id === 'number') {
    events.talking?.(data.id, data.videoroom === 'talking');
    return;
  }
  if (Array.isArray(data.publishers)) events.published(feedsOf(data.publishers));
  for (const key of ['unpublished', 'leaving'] as const) {
    if (typeof data[key] === 'number') events.unpublished(data[key] as number);
  }
}

/** Janus drops a viewer to a lower layer after this long without packets on the one it relays (its default is 250 ms). */
const LAYER_FALLBACK_US = 1_000_000;
/** How long a viewer may sit below the layer it asked for before the publisher is asked for a keyframe again, and the cap of the backoff. */
const LAYER_RECOVER_MS = 2_000;
const LAYER_RECOVER_MAX_MS = 16_000;

/** A subscription to one feed: Janus makes the offer, the client answers. */
export class Subscriber {
  readonly handle: JanusHandle;
  readonly offer: Jsep;
  /** This subscription's video stream (its mid in Janus's offer), for picking simulcast layers. */
  readonly videoMid: string | undefined;
  /** The simulcast layer asked for (Janus starts a subscriber on the highest) and the one Janus says it relays. */
  private layerTarget = 2;
  private layerRelayed: number | undefined;
  private recoverTimer: NodeJS.Timeout | undefined;
  private recoverDelay = LAYER_RECOVER_MS;
  private closed = false;

  private constructor(handle: JanusHandle, offer: Jsep, videoMid: string | undefined) {
    this.handle = handle;
    this.offer = offer;
    this.videoMid = videoMid;
  }

  static async join(session: JanusSession, room: JanusRoom, feed: number, onGone: (reason: string) => void): Promise<Subscriber> {
    let subscriber: Subscriber | undefined;
    const handle = await session.attach(VIDEOROOM_PLUGIN, (event) => {
      if (event.janus === 'hangup' || event.janus === 'detached') {
        subscriber?.stopRecovering();
        onGone(String(event.reason ?? event.janus));
        return;
      }
      const substream = event.plugindata?.data?.substream;
      if (typeof substream === 'number') subscriber?.relaying(substream);
    });
    try {
      const { data, jsep } = await handle.message({ request: 'join', ptype: 'subscriber', room: room.room, pin: room.pin, streams: [{ feed, fallback: LAYER_FALLBACK_US }] });
      if (!jsep) throw new Error('Janus made no offer for the feed');
      const streams = Array.isArray(data.streams) ? (data.streams as Array<{ type?: unknown; mid?: unknown }>) : [];
      const video = streams.find((st) => st.type === 'video' && typeof st.mid === 'string');
      subscriber = new Subscriber(handle, jsep, video?.mid as string | undefined);
      return subscriber;
    } catch (err) {
      await handle.detach();
      throw err;
    }
  }

  async start(answer: Jsep): Promise<void> {
    await this.handle.message({ request: 'start' }, answer);
  }

  /**
   * Picks the simulcast layer Janus relays to this subscriber only (0 lowest … 2 full) and its
   * temporal layer; a stream sent without simulcast ignores it.
   */
  async setLayer(substream: number, temporal?: number): Promise<void> {
    if (!this.videoMid) return;
    this.layerTarget = substream;
    this.recoverDelay = LAYER_RECOVER_MS;
    await this.configureLayer(substream, temporal);
    this.relaying(this.layerRelayed);
  }

  private async configureLayer(substream: number, temporal?: number): Promise<void> {
    await this.handle.message({ request: 'configure', streams: [{ mid: this.videoMid, substream, fallback: LAYER_FALLBACK_US, ...(temporal !== undefined ? { temporal } : {}) }] });
  }

  /**
   * Janus reported the layer it now relays. Below the one asked for, it fell back because the
   * publisher's layer stalled (a streamer's CPU busy with a game does that), and it only climbs
   * back on a keyframe of that layer, which a browser sends when asked: so while the viewer sits
   * below its layer, asking again (Janus then requests a keyframe) with a growing pause.
   */
  private relaying(substream: number | undefined): void {
    this.layerRelayed = substream;
    if (substream === undefined || substream >= this.layerTarget || this.closed) {
      this.stopRecovering();
      this.recoverDelay = LAYER_RECOVER_MS;
      return;
    }
    if (this.recoverTimer) return;
    this.recoverTimer = setTimeout(() => {
      this.recoverTimer = undefined;
      if (this.closed || this.layerRelayed === undefined || this.layerRelayed >= this.layerTarget) return;
      this.recoverDelay = Math.min(this.recoverDelay * 2, LAYER_RECOVER_MAX_MS);
      this.configureLayer(this.layerTarget).catch(() => {}).finally(() => this.relaying(this.layerRelayed));
    }, this.recoverDelay);
    this.recoverTimer.unref();
  }

  private stopRecovering(): void {
    clearTimeout(this.recoverTimer);
    this.recoverTimer = undefined;
  }

  /** Stops receiving (deafen) or receives again, without renegotiating. */
  async setPaused(paused: boolean): Promise<void> {
    await this.handle.message({ request: paused ? 'pause' : 'start' });
  }

  async leave(): Promise<void> {
    this.closed = true;
    this.stopRecovering();
    await this.handle.message({ request: 'leave' }).catch(() => {});
    await this.handle.detach();
  }
}
