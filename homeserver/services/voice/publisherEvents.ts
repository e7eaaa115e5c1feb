/**
 * What a call's client hears of its room as Janus tells it, relayed over the signaling socket:
 * feeds coming and going, who is talking (Janus's audio-level events, and the list of who
 * talks already for a call that joins), and one of its own publishers ending.
 */
import type { Logger } from '../../logging.ts';
import type { JanusHandle } from '../../media/janusConnection.ts';
import { talkingFeeds, type Publisher, type PublisherEvents } from '../../media/videoRoom.ts';
import type { Db } from '../../storage/database.ts';
import * as roomState from '../../storage/roomState.ts';
import { feedJson, type Call, type PublishKind, type PublisherKey } from './call.ts';
import { VOICE_MEMBER_EVENT } from './voiceRooms.ts';

/** The events of one of the call's publishers (`current()`: the publisher the call holds under `key` now). */
export function publisherEvents(call: Call, kind: PublishKind, key: PublisherKey, streamId: string, current: () => Publisher | undefined): PublisherEvents {
  return {
    published: (feeds) => {
      // The voice publisher hears of the room's feeds (every process's) for the whole call.
      if (kind !== 'voice' || call.ended) return;
      for (const f of feeds) call.feeds.set(f.feed, f.userId);
      const added = feeds.filter((f) => ![...call.publishers.values()].some((p) => p.feed === f.feed));
      if (added.length) call.peer.send({ type: 'feeds', room_id: call.roomId, added: added.map(feedJson), removed: [] });
    },
    unpublished: (feed) => {
      if (kind !== 'voice' || call.ended) return;
      call.feeds.delete(feed);
      call.talking.delete(feed);
      call.peer.send({ type: 'feeds', room_id: call.roomId, added: [], removed: [feed] });
    },
    // Speaking as Janus hears it (the audio level extension), for every member of the call,
    // deafened ones included: the voice publisher's handle hears about the whole room.
    talking: (feed, talking) => {
      if (kind !== 'voice' || call.ended) return;
      const owner = call.feeds.get(feed);
      if (!owner) return;
      if (talking) call.talking.add(feed);
      else call.talking.delete(feed);
      call.peer.send({ type: 'speaking', room_id: call.roomId, feed, user_id: owner, speaking: talking });
    },
    gone: (reason) => {
      if (call.ended || call.publishers.get(key) !== current()) return;
      call.peer.send({ type: 'publisher_ended', room_id: call.roomId, kind, ...(kind === 'stream' ? { stream_id: streamId } : {}), reason });
    },
  };
}

/**
 * A user muted or unmuted: the calls (of this process) that Janus told the user's voice is
 * talking hear at once that it stopped, or is back. Janus would say it stopped only after
 * averaging 25 more packets, which a muted microphone (Opus DTX: a packet per 400 ms of
 * silence) takes some 10 s to send; after an unmute within that time it says nothing, its
 * state never changed. Calls of other processes get Janus's own event, and the muted flag in
 * room state at once.
 */
export function mutedWhileTalking(calls: Iterable<Call>, user: Call): void {
  const feed = user.publishers.get('voice')?.feed;
  if (feed === undefined) return;
  for (const call of calls) {
    if (call.roomId !== user.roomId || !call.talking.has(feed)) continue;
    call.peer.send({ type: 'speaking', room_id: call.roomId, feed, user_id: user.peer.userId, speaking: !user.mute.muted });
  }
}

/** A call that joins hears who is talking already (Janus's events say only when that changes). */
export async function tellWhoIsTalking(db: Db, logger: Logger, control: () => Promise<JanusHandle>, call: Call): Promise<void> {
  const feeds = await control().then((handle) => talkingFeeds(handle, call.janusRoom)).catch((err) => {
    logger.debug({ err }, 'who is talking not listed');
    return [];
  });
  const owners = feeds.flatMap((feed) => {
    const owner = call.feeds.get(feed);
    return owner && owner !== call.peer.userId ? [{ feed, owner }] : [];
  });
  if (!owners.length) return;
  // A user who muted a moment ago may still be talking to Janus: room state says who is muted.
  const states = await roomState.currentStateEvents(db, call.roomId, owners.map(({ owner }) => [VOICE_MEMBER_EVENT, owner]));
  const muted = new Set(states.filter((e) => (e.content as Record<string, unknown>).muted === true).map((e) => e.state_key));
  for (const { feed, owner } of owners) {
    call.talking.add(feed);
    if (!muted.has(owner)) call.peer.send({ type: 'speaking', room_id: call.roomId, feed, user_id: owner, speaking: true });
  }
}
