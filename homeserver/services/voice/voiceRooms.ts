/** What makes a Matrix room a voice channel, and the state event that shows who is in its call. */

/** `creation_content.type` of a voice channel. */
export const VOICE_ROOM_TYPE = 'org.whisper.voice';

/**
 * Room state, one per user (state_key = user id), written only by the homeserver as the user
 * joins, mutes, streams or leaves the call, so any Matrix client can show who is there.
 */
export const VOICE_MEMBER_EVENT = 'org.whisper.voice.member';

export interface VoiceStreamInfo {
  feed: number;
  kind: 'voice' | 'stream';
  /** Streams: which of the user's streams (its org.whisper.stream state_key is `${user}|${stream_id}`). */
  stream_id?: string;
  /** Streams: the preset the publisher chose (720p30, 1080p60, 1440p60, 2160p60, source). */
  quality?: string;
}

export interface VoiceMemberContent {
  joined: boolean;
  muted: boolean;
  deafened: boolean;
  streams: VoiceStreamInfo[];
  [key: string]: unknown;
}

/**
 * Room state, one per live stream ("go live"): state_key `${streamId}|${userId}` (a state key
 * starting with "@" would be that user's own by the auth rules, and only the server writes
 * these), written only by the homeserver. A stream that ended has empty content (state cannot
 * be deleted).
 */
export const STREAM_EVENT = 'org.whisper.stream';

export interface StreamContent {
  /** The Janus feed to subscribe to (it changes when the call is rebuilt). */
  feed: number;
  preset: string;
  width?: number;
  height?: number;
  fps?: number;
  codec?: string;
  has_audio: boolean;
  /** Simulcast layers a viewer may pick (rid: h full, m 1/2, l 1/4), empty without simulcast. */
  layers: string[];
  started_ts: number;
  [key: string]: unknown;
}

export function streamStateKey(userId: string, streamId: string): string {
  return `${streamId}|${userId}`;
}

/** The user a stream state entry belongs to (stream ids hold no "|"). */
export function streamOwner(stateKey: string): string {
  return stateKey.slice(stateKey.indexOf('|') + 1);
}

/** What a call state entry says once its user is out of the call. */
export function endedContent(type: string): Record<string, unknown> {
  return type === VOICE_MEMBER_EVENT ? { joined: false, muted: false, deafened: false, streams: [] } : {};
}

/** Whether a call state entry still says its user is in the call (or live). */
export function isLiveContent(type: string, content: Record<string, unknown>): boolean {
  return type === VOICE_MEMBER_EVENT ? content.joined === true : Object.keys(content).length > 0;
}

/** Power-level entries a voice channel starts with: members may carry their call state. */
export function voicePowerLevelEvents(creationContent: Record<string, unknown> | undefined): Record<string, number> {
  return creationContent?.type === VOICE_ROOM_TYPE ? { [VOICE_MEMBER_EVENT]: 0, [STREAM_EVENT]: 0 } : {};
}
