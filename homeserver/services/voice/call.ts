/**
 * A call as the voice service keeps it: one signaling connection in one voice channel, with
 * its Janus handles (publishers and subscriptions), what it knows of the room's feeds, and
 * its user's mute state; and the shapes clients see of it.
 */
import type { Feed, JanusRoom, Publisher, Subscriber } from '../../media/videoRoom.ts';
import type { MuteState } from './muteRule.ts';
import type { StreamContent } from './voiceRooms.ts';

/** One signaling connection (a WebSocket): who it is and how to reach it. */
export interface VoicePeer {
  userId: string;
  deviceId: string;
  send(event: Record<string, unknown>): void;
}

export type PublishKind = 'voice' | 'stream';

/** A call's publishers by key: 'voice', or `stream:${streamId}` for each stream ("go live"). */
export type PublisherKey = 'voice' | `stream:${string}`;
export const streamKey = (streamId: string): PublisherKey => `stream:${streamId}`;
/** The stream of a client that names none (one stream per user, as older clients do). */
export const DEFAULT_STREAM_ID = 'main';

export interface Call {
  peer: VoicePeer;
  roomId: string;
  janusRoom: JanusRoom;
  generation: number;
  publishers: Map<PublisherKey, Publisher>;
  /** Live streams by stream id: their org.whisper.stream content. */
  streams: Map<string, StreamContent>;
  subscriptions: Map<string, Subscriber>;
  /** Who published each feed of the room, as Janus's events said (its display names the user). */
  feeds: Map<number, string>;
  /** Feeds Janus last said are talking (its view: a user who just muted may still be in it). */
  talking: Set<number>;
  nextSub: number;
  /** Mute and deafen (muteRule.ts: deafened is muted too). */
  mute: MuteState;
  ended: boolean;
}

/** A feed as clients see it. */
export interface FeedJson {
  feed: number;
  user_id: string;
  kind: PublishKind;
  stream_id?: string;
}

export function feedJson(f: Feed): FeedJson {
  return { feed: f.feed, user_id: f.userId, kind: f.kind, ...(f.streamId ? { stream_id: f.streamId } : {}) };
}
