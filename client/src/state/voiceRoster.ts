/**
 * Voice channels as room state shows them, readable by every member without joining the call:
 * which rooms are voice channels (creation type org.whisper.voice), who is in each call
 * (org.whisper.voice.member, written by the homeserver) and which streams are live
 * (org.whisper.stream). Also what changed between two rosters, for the join/leave sounds.
 */
import type { Room } from 'matrix-js-sdk';

export const VOICE_ROOM_TYPE = 'org.whisper.voice';
export const VOICE_MEMBER_EVENT = 'org.whisper.voice.member';
export const STREAM_EVENT = 'org.whisper.stream';

export interface CallMember {
  userId: string;
  muted: boolean;
  deafened: boolean;
  /** Stream ids this user has live. */
  streams: string[];
}

export interface LiveStream {
  userId: string;
  streamId: string;
  /** The media server's feed to watch (it changes when the call is rebuilt). */
  feed: number;
  preset: string;
  width?: number;
  height?: number;
  fps?: number;
  codec?: string;
  hasAudio: boolean;
  /** Simulcast layers a viewer may choose (h full, m half, l quarter resolution). */
  layers: string[];
  startedTs?: number;
}

export function isVoiceChannel(room: Room | null | undefined): boolean {
  return room?.getType() === VOICE_ROOM_TYPE;
}

/** Who is in the room's call now, in the order they appear in room state. Left members never show. */
export function callMembers(room: Room): CallMember[] {
  const out: CallMember[] = [];
  for (const ev of room.currentState.getStateEvents(VOICE_MEMBER_EVENT)) {
    const c = ev.getContent();
    const userId = ev.getStateKey();
    if (!userId || c.joined !== true || room.getMember(userId)?.membership !== 'join') continue;
    const streams = Array.isArray(c.streams)
      ? c.streams.filter((s: any) => s?.kind === 'stream' && typeof s.stream_id === 'string').map((s: any) => s.stream_id as string)
      : [];
    out.push({ userId, muted: c.muted === true, deafened: c.deafened === true, streams });
  }
  return out;
}

/** Live streams of the room's call (an ended stream's state is empty content). */
export function liveStreams(room: Room): LiveStream[] {
  const inCall = new Set(callMembers(room).map((m) => m.userId));
  const out: LiveStream[] = [];
  for (const ev of room.currentState.getStateEvents(STREAM_EVENT)) {
    const c = ev.getContent();
    const key = ev.getStateKey() ?? '';
    const bar = key.indexOf('|');
    if (bar < 1 || typeof c.feed !== 'number') continue;
    const userId = key.slice(bar + 1);
    if (!inCall.has(userId)) continue;
    out.push({
      userId, streamId: key.slice(0, bar), feed: c.feed, preset: String(c.preset ?? ''),
      width: num(c.width), height: num(c.height), fps: num(c.fps), codec: typeof c.codec === 'string' ? c.codec : undefined,
      hasAudio: c.has_audio === true, layers: Array.isArray(c.layers) ? c.layers.filter((l: unknown) => typeof l === 'string') : [],
      startedTs: num(c.started_ts),
    });
  }
  return out.sort((a, b) => (a.startedTs ?? 0) - (b.startedTs ?? 0));
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Who came and who went between two rosters (user ids). */
export function rosterChanges(before: Iterable<string>, after: Iterable<string>): { joined: string[]; left: string[] } {
  const a = new Set(before);
  const b = new Set(after);
  return { joined: [...b].filter((u) => !a.has(u)), left: [...a].filter((u) => !b.has(u)) };
}
