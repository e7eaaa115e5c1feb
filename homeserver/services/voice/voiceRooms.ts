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

/** Power-level entries a voice channel starts with: members may carry their call state. */
export function voicePowerLevelEvents(creationContent: Record<string, unknown> | undefined): Record<string, number> {
  return creationContent?.type === VOICE_ROOM_TYPE ? { [VOICE_MEMBER_EVENT]: 0 } : {};
}
