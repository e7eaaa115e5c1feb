/**
 * Voice channels: the rules between a client's signaling and Janus. A joined member of a
 * voice channel (a room whose creation type is org.whisper.voice) may join its call; every
 * step (publish, trickle, subscribe, answer, state) re-checks that membership, and a member
 * who leaves or is kicked from the room is dropped from the call at once. The call's members
 * are mirrored into room state (org.whisper.voice.member) for every client to see.
 *
 * Several server processes may share the database and one Janus. A channel's Janus room (a
 * random number, secret and pin that never reach clients) is recorded in the database, so every
 * process puts its clients in the same room (sharedJanusRooms.ts). A call lives in the process
 * whose WebSocket serves it; that process owns its call state under a lease (callLeases.ts),
 * and only call state whose owner's lease ran out is ended by the others. When Janus is lost
 * (the supervisor restarts it), every call here is reset and its client told to rejoin, which
 * makes the room again under the same number.
 *
 * Feeds of other processes' clients reach this one through Janus itself: every participant
 * of a VideoRoom, whichever session attached it, hears of every publisher (with the `display`
 * that names its user), and each call's voice handle joins as a participant even when its user
 * only listens. What a call's client hears of its room that way is publisherEvents.ts; the
 * call itself is call.ts; mute and deafen follow muteRule.ts.
 */
import { errors, MatrixError } from '../../errors.ts';
import type { Logger } from '../../logging.ts';
import { JanusError, type JanusHandle, type JanusSession, type Jsep } from '../../media/janusConnection.ts';
import { JanusUnavailableError, type JanusSupervisor } from '../../media/janusSupervisor.ts';
import { NO_SUCH_ROOM, Publisher, Subscriber, VIDEOROOM_PLUGIN, type JanusRoom } from '../../media/videoRoom.ts';
import type { Db, Queryable } from '../../storage/database.ts';
import * as roomState from '../../storage/roomState.ts';
import * as voiceCalls from '../../storage/voiceCalls.ts';
import { entryKey, type CallEntry } from '../../storage/voiceLeases.ts';
import type { EventDraft, EventPersister } from '../rooms/persister.ts';
import type { Notice } from '../sync/notifier.ts';
import { DEFAULT_STREAM_ID, feedJson, streamKey, type Call, type FeedJson, type PublisherKey, type PublishKind, type VoicePeer } from './call.ts';
import { CallLeases } from './callLeases.ts';
import { applyMuteChange } from './muteRule.ts';
import { mutedWhileTalking, publisherEvents, tellWhoIsTalking } from './publisherEvents.ts';
import { SharedJanusRooms } from './sharedJanusRooms.ts';
import {
  endedContent, isLiveContent, STREAM_EVENT, streamOwner, streamStateKey, VOICE_MEMBER_EVENT, VOICE_ROOM_TYPE,
  type VoiceMemberContent, type VoiceStreamInfo,
} from './voiceRooms.ts';

export { DEFAULT_STREAM_ID, type FeedJson, type PublishKind, type VoicePeer } from './call.ts';

/** What the publishing client says about its stream (shown to viewers as room state). */
export interface StreamDescription {
  width?: number;
  height?: number;
  fps?: number;
  codec?: string;
  has_audio?: boolean;
  /** Simulcast rids the client sends (h full, m 1/2, l 1/4). */
  layers?: string[];
}

/** Bitrate Janus lets each stream preset use (the client caps its encoder the same way). */
export const STREAM_BITRATES: Record<string, number> = {
  '720p30': 4_000_000,
  '1080p60': 12_000_000,
  '1440p60': 20_000_000,
  '2160p60': 35_000_000,
  source: 40_000_000,
};
const VOICE_BITRATE = 128_000;
/** A client may watch this many feeds at once (voice of everyone plus a few streams). */
const MAX_SUBSCRIPTIONS = 64;
/** Streams one user may have live at once in a channel (a screen and a camera, say). */
const MAX_STREAMS_PER_USER = 4;


export class VoiceService {
  private readonly db: Db;
  private readonly persister: EventPersister;
  private readonly janus: JanusSupervisor;
  private readonly logger: Logger;
  private readonly rooms: SharedJanusRooms;
  private readonly leases: CallLeases;
  private control: Promise<JanusHandle> | undefined;
  private readonly calls = new Map<VoicePeer, Call>();
  /**
   * Calls reset (Janus lost their handles, or this process's lease ran out) whose client was
   * told to rejoin and has not yet: their call state is ended if the client goes away or joins
   * elsewhere instead, and their streams' state when it rejoins (it publishes them anew).
   */
  private readonly awaitingRejoin = new Map<VoicePeer, Call>();
  /** Drafts this service made: only these may write org.whisper.voice.member. */
  private readonly ownDrafts = new WeakSet<EventDraft>();
  /** Drafts ending left-over call state: written only if no live process serves it by then. */
  private readonly sweepDrafts = new WeakSet<EventDraft>();
  /** Room types never change: a room is a voice channel or not for good. */
  private readonly isVoiceRoom = new Map<string, boolean>();

  constructor(deps: { db: Db; persister: EventPersister; janus: JanusSupervisor; logger: Logger; leaseMs: number }) {
    this.db = deps.db;
    this.persister = deps.persister;
    this.janus = deps.janus;
    this.logger = deps.logger;
    this.rooms = new SharedJanusRooms(deps.db, deps.janus.adminKey);
    this.leases = new CallLeases(deps.db, deps.leaseMs, deps.logger);
    this.janus.onReset(() => this.janusLost());
  }

  /**
   * Takes this process's lease and ends the call state no live process serves (a previous run's,
   * a crashed process's), now and every third of the lease from then on.
   */
  async start(): Promise<void> {
    await this.leases.start({
      lost: async () => this.resetCalls('lease_expired', true),
      sweep: async () => {
        await this.clearStaleCalls();
      },
    });
  }

  /** Whether voice can work here, and if not why (for clients, before they try). */
  status(): { available: boolean; mode: string; reason?: string } {
    return this.janus.mode === 'unavailable'
      ? { available: false, mode: this.janus.mode, reason: this.janus.unavailableReason }
      : { available: true, mode: this.janus.mode };
  }

  /** The embedded Janus's process id, if it runs (diagnostics and the restart test). */
  get mediaServerPid(): number | undefined {
    return this.janus.pid;
  }

  /** A persister check: clients cannot write call state; only this service does. */
  async checkDraft(trx: Queryable, draft: EventDraft): Promise<void> {
    if ((draft.type === VOICE_MEMBER_EVENT || draft.type === STREAM_EVENT) && !this.ownDrafts.has(draft)) {
      throw errors.forbidden(`${draft.type} is written by the server as users join and leave calls.`);
    }
    // Under the room lock: a process may have taken the call over since the sweep looked (the
    // user rejoined through it); its ownership is recorded before it writes the call state.
    if (this.sweepDrafts.has(draft) && (await this.leases.hasLiveOwner(trx, { roomId: draft.roomId, type: draft.type, stateKey: draft.stateKey! }))) {
      throw errors.forbidden('A live server process serves this call.');
    }
  }

  /**
   * A persister precursor: a joined member who leaves, is kicked or banned is out of the call
   * in the same transaction, just before the membership change, so no client ever sees a
   * roster with someone who is no longer in the room (and the call state's sender was still a
   * member when it was written).
   */
  async precursors(trx: Queryable, draft: EventDraft): Promise<EventDraft[]> {
    if (draft.type !== 'm.room.member' || !draft.stateKey || draft.content.membership === 'join') return [];
    const userId = draft.stateKey;
    const rows = await voiceCalls.callState(trx, [VOICE_MEMBER_EVENT, STREAM_EVENT], draft.roomId);
    const mine = rows.filter((r) => (r.type === VOICE_MEMBER_EVENT ? r.stateKey === userId : streamOwner(r.stateKey) === userId) && isLiveContent(r.type, r.content));
    if (!mine.length || (await roomState.membershipOf(trx, draft.roomId, userId)) !== 'join') return [];
    return mine.map((r) => this.ownDraft({ roomId: draft.roomId, sender: userId, type: r.type, stateKey: r.stateKey, content: endedContent(r.type) }));
  }

  /**
   * Calls do not outlive the process that relayed them (its WebSockets are gone): every call
   * state still saying "in the call" or "live" that no process with a running lease serves is
   * ended (left by a previous run, or by a process that crashed). Calls other live processes
   * serve stay.
   */
  async clearStaleCalls(): Promise<number> {
    const rows = (await voiceCalls.callState(this.db, [VOICE_MEMBER_EVENT, STREAM_EVENT])).filter((r) => isLiveContent(r.type, r.content));
    const served = rows.length ? await this.leases.liveOwned() : new Set<string>();
    let cleared = 0;
    for (const r of rows.filter((row) => !served.has(entryKey(row)))) {
      const sender = r.type === VOICE_MEMBER_EVENT ? r.stateKey : streamOwner(r.stateKey);
      const draft = this.ownDraft({ roomId: r.roomId, sender, type: r.type, stateKey: r.stateKey, content: endedContent(r.type) });
      this.sweepDrafts.add(draft);
      try {
        await this.persister.persist([draft]);
        cleared++;
      } catch (err) {
        // A sender who is no longer a member cannot write state (leaving ends it anyway).
        this.logger.debug({ err, roomId: r.roomId, stateKey: r.stateKey }, 'stale call state not cleared');
      }
    }
    if (cleared) this.logger.info({ cleared }, 'ended call state no live server process serves');
    await this.leases.dropExpired();
    return cleared;
  }

  private ownDraft(draft: EventDraft): EventDraft {
    this.ownDrafts.add(draft);
    return draft;
  }

  /** Every committed change passes here: a member who is no longer joined leaves the call. */
  onNotice(n: Notice): void {
    if (n.type !== 'm.room.member' || !n.roomId || !n.stateKey || n.membership === 'join') return;
    for (const call of this.calls.values()) {
      if (call.roomId === n.roomId && call.peer.userId === n.stateKey) {
        void this.end(call, 'membership', false);
      }
    }
  }

  // --- signaling steps -----------------------------------------------------------------

  async join(peer: VoicePeer, roomId: string, opts: { muted?: boolean; deafened?: boolean }): Promise<{ feeds: FeedJson[] }> {
    await this.requireVoiceMember(peer.userId, roomId);
    const previous = this.calls.get(peer);
    if (previous) await this.end(previous, 'switched', true);
    await this.settleReset(peer, roomId);
    const session = await this.session();
    const generation = this.janus.currentGeneration;
    const janusRoom = await this.janusRoom(session, roomId, generation);
    const call: Call = {
      peer, roomId, janusRoom, generation, publishers: new Map(), streams: new Map(), subscriptions: new Map(),
      feeds: new Map(), talking: new Set(), nextSub: 1, mute: applyMuteChange({ muted: false, deafened: false, mutedBeforeDeafen: false }, opts), ended: false,
    };
    const voice = await this.attachPublisher(session, call, 'voice');
    for (const f of voice.existing) call.feeds.set(f.feed, f.userId);
    this.calls.set(peer, call);
    await tellWhoIsTalking(this.db, this.logger, () => this.controlHandle(session), call);
    // Owned before it says "joined", so no other process's sweep ends it in between.
    await this.leases.own(memberEntry(call));
    await this.writeState(call);
    return { feeds: voice.existing.map(feedJson) };
  }

  /** Publishes the client's voice (its first publisher) or a stream (a second one). */
  async publish(
    peer: VoicePeer, kind: PublishKind, offer: Jsep,
    opts: { quality?: string; streamId?: string; description?: StreamDescription } = {},
  ): Promise<{ feed: number; jsep: Jsep }> {
    const call = await this.requireCall(peer);
    const streamId = opts.streamId ?? DEFAULT_STREAM_ID;
    const key: PublisherKey = kind === 'voice' ? 'voice' : streamKey(streamId);
    if (kind === 'stream' && !call.publishers.has(key) && call.streams.size >= MAX_STREAMS_PER_USER) {
      throw errors.forbidden(`At most ${MAX_STREAMS_PER_USER} streams at once.`);
    }
    const session = await this.session();
    const publisher = call.publishers.get(key) ?? (await this.attachPublisher(session, call, kind, streamId));
    const quality = opts.quality ?? '1080p60';
    const bitrate = kind === 'voice' ? VOICE_BITRATE : STREAM_BITRATES[quality] ?? STREAM_BITRATES['1080p60'];
    const jsep = await this.janusStep(() => publisher.publish(offer, { bitrate }));
    if (kind === 'voice' && call.mute.muted) await publisher.setMuted(true);
    if (kind === 'stream') {
      const d = opts.description ?? {};
      call.streams.set(streamId, {
        feed: publisher.feed, preset: quality,
        ...(d.width ? { width: d.width } : {}), ...(d.height ? { height: d.height } : {}), ...(d.fps ? { fps: d.fps } : {}), ...(d.codec ? { codec: d.codec } : {}),
        has_audio: d.has_audio ?? false, layers: d.layers ?? [], started_ts: call.streams.get(streamId)?.started_ts ?? Date.now(),
      });
      await this.leases.own(streamEntry(call, streamId));
      await this.writeStreamState(call, streamId);
    }
    await this.writeState(call);
    return { feed: publisher.feed, jsep };
  }

  async unpublish(peer: VoicePeer, kind: PublishKind, streamId = DEFAULT_STREAM_ID): Promise<void> {
    const call = await this.requireCall(peer);
    const key: PublisherKey = kind === 'voice' ? 'voice' : streamKey(streamId);
    const publisher = call.publishers.get(key);
    if (!publisher) return;
    call.publishers.delete(key);
    call.feeds.delete(publisher.feed);
    await publisher.leave();
    if (kind === 'stream' && call.streams.delete(streamId)) {
      await this.writeStreamState(call, streamId);
      await this.leases.disown(streamEntry(call, streamId));
    }
    await this.writeState(call);
  }

  /** A viewer picks a simulcast layer (0 lowest … 2 full) of a stream it watches; others keep theirs. */
  async setLayer(peer: VoicePeer, sub: string, substream: number, temporal?: number): Promise<void> {
    const call = await this.requireCall(peer);
    const subscriber = call.subscriptions.get(sub);
    if (!subscriber) throw errors.notFound(`No subscription ${sub} in this call.`);
    await this.janusStep(() => subscriber.setLayer(substream, temporal));
  }

  /** An ICE candidate for one of the call's PeerConnections (a publisher kind or a subscription id). */
  async trickle(peer: VoicePeer, target: string, candidate: Record<string, unknown> | null): Promise<void> {
    const call = await this.requireCall(peer);
    const key = target === 'stream' ? streamKey(DEFAULT_STREAM_ID) : target;
    const handle = key === 'voice' || key.startsWith('stream:') ? call.publishers.get(key as PublisherKey)?.handle : call.subscriptions.get(target)?.handle;
    if (!handle) throw errors.notFound(`No PeerConnection ${target} in this call.`);
    await this.janusStep(() => handle.trickle(candidate));
  }

  /** Starts watching a feed of the call's room: Janus's offer goes back to the client. */
  async subscribe(peer: VoicePeer, feed: number): Promise<{ sub: string; jsep: Jsep }> {
    const call = await this.requireCall(peer);
    if ([...call.publishers.values()].some((p) => p.feed === feed)) throw errors.invalidParam('That feed is your own.');
    if (call.subscriptions.size >= MAX_SUBSCRIPTIONS) throw errors.forbidden(`At most ${MAX_SUBSCRIPTIONS} feeds at once.`);
    const session = await this.session();
    const sub = `s${call.nextSub++}`;
    const subscriber = await this.janusStep(() =>
      Subscriber.join(session, call.janusRoom, feed, (reason) => {
        if (call.subscriptions.get(sub) !== subscriber) return;
        call.subscriptions.delete(sub);
        if (!call.ended) call.peer.send({ type: 'subscription_ended', room_id: call.roomId, sub, reason });
      }),
    );
    if (call.ended) {
      await subscriber.leave();
      throw errors.forbidden('You are no longer in this call.');
    }
    call.subscriptions.set(sub, subscriber);
    return { sub, jsep: subscriber.offer };
  }

  async answer(peer: VoicePeer, sub: string, jsep: Jsep): Promise<void> {
    const call = await this.requireCall(peer);
    const subscriber = call.subscriptions.get(sub);
    if (!subscriber) throw errors.notFound(`No subscription ${sub} in this call.`);
    await this.janusStep(() => subscriber.start(jsep));
  }

  async unsubscribe(peer: VoicePeer, sub: string): Promise<void> {
    const call = await this.requireCall(peer);
    const subscriber = call.subscriptions.get(sub);
    if (!subscriber) return;
    call.subscriptions.delete(sub);
    await subscriber.leave();
  }

  /**
   * Mute (Janus stops relaying the voice too) and deafen (shown to others; the client stops
   * playback), which mutes as well (muteRule.ts).
   */
  async setState(peer: VoicePeer, change: { muted?: boolean; deafened?: boolean }): Promise<VoiceMemberContent> {
    const call = await this.requireCall(peer);
    const wasMuted = call.mute.muted;
    call.mute = applyMuteChange(call.mute, change);
    if (call.mute.muted !== wasMuted) await call.publishers.get('voice')?.setMuted(call.mute.muted);
    if (call.mute.muted !== wasMuted) mutedWhileTalking(this.calls.values(), call);
    return this.writeState(call);
  }

  async leave(peer: VoicePeer): Promise<void> {
    const call = this.calls.get(peer);
    if (call) await this.end(call, 'left', true);
    await this.settleReset(peer);
  }

  /** The signaling connection closed. */
  async disconnected(peer: VoicePeer): Promise<void> {
    const call = this.calls.get(peer);
    if (call) await this.end(call, 'disconnected', true);
    await this.settleReset(peer);
  }

  async close(): Promise<void> {
    for (const call of [...this.calls.values()]) await this.end(call, 'server_shutdown', true).catch(() => {});
    for (const peer of [...this.awaitingRejoin.keys()]) await this.settleReset(peer).catch(() => {});
    await this.leases.close();
    await this.janus.close();
  }

  // --- internals -------------------------------------------------------------------------

  private async requireVoiceMember(userId: string, roomId: string): Promise<void> {
    // Membership first: whether a room exists is nobody's business but its members'.
    if ((await roomState.membershipOf(this.db, roomId, userId)) !== 'join') throw errors.forbidden('You are not a member of this voice channel.');
    let isVoice = this.isVoiceRoom.get(roomId);
    if (isVoice === undefined) {
      const [create] = await roomState.currentStateEvents(this.db, roomId, [['m.room.create', '']]);
      isVoice = (create?.content as Record<string, unknown> | undefined)?.type === VOICE_ROOM_TYPE;
      this.isVoiceRoom.set(roomId, isVoice);
    }
    if (!isVoice) throw errors.invalidParam('This room is not a voice channel.');
  }

  /** The peer's call, after checking the user is still a joined member of its room. */
  private async requireCall(peer: VoicePeer): Promise<Call> {
    const call = this.calls.get(peer);
    if (!call) throw errors.forbidden('Join a voice channel first.');
    if ((await roomState.membershipOf(this.db, call.roomId, peer.userId)) !== 'join') {
      await this.end(call, 'membership', false);
      throw errors.forbidden('You are not a member of this voice channel.');
    }
    if (call.generation !== this.janus.currentGeneration) throw mediaRestarted();
    return call;
  }

  private async session(): Promise<JanusSession> {
    try {
      return await this.janus.ready();
    } catch (err) {
      if (err instanceof JanusUnavailableError) throw voiceUnavailable(err.message);
      throw err;
    }
  }

  private async janusStep<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof JanusError) {
        this.logger.warn({ err }, 'Janus refused a voice step');
        throw err.code === 0 ? mediaRestarted() : new MatrixError(400, 'M_UNKNOWN', `The media server refused: ${err.message}`);
      }
      throw err;
    }
  }

  /** The handle this process manages Janus rooms with (made once per Janus session). */
  private controlHandle(session: JanusSession): Promise<JanusHandle> {
    this.control ??= session.attach(VIDEOROOM_PLUGIN);
    this.control.catch(() => (this.control = undefined));
    return this.control;
  }

  private async janusRoom(session: JanusSession, roomId: string, generation: number): Promise<JanusRoom> {
    return this.janusStep(() => this.rooms.get(() => this.controlHandle(session), roomId, generation));
  }

  private async attachPublisher(session: JanusSession, call: Call, kind: PublishKind, streamId = DEFAULT_STREAM_ID): Promise<Publisher> {
    const key: PublisherKey = kind === 'voice' ? 'voice' : streamKey(streamId);
    const events = publisherEvents(call, kind, key, streamId, () => publisher);
    const join = () => Publisher.join(session, call.janusRoom, { userId: call.peer.userId, kind, ...(kind === 'stream' ? { streamId } : {}) }, events);
    const publisher = await this.janusStep(async () => {
      try {
        return await join();
      } catch (err) {
        // Janus lost the room while this process stayed connected (someone destroyed it): make it again once.
        if (!(err instanceof JanusError && err.code === NO_SUCH_ROOM) || kind !== 'voice') throw err;
        this.rooms.forget(call.roomId);
        call.janusRoom = await this.janusRoom(session, call.roomId, call.generation);
        return join();
      }
    });
    call.publishers.set(key, publisher);
    call.feeds.set(publisher.feed, call.peer.userId);
    return publisher;
  }

  private async end(call: Call, reason: string, writeState: boolean): Promise<void> {
    if (call.ended) return;
    call.ended = true;
    if (this.calls.get(call.peer) === call) this.calls.delete(call.peer);
    if (reason !== 'left' && reason !== 'disconnected' && reason !== 'switched') call.peer.send({ type: 'left', room_id: call.roomId, reason });
    const live = call.generation === this.janus.currentGeneration;
    if (live) {
      await Promise.all([...call.subscriptions.values()].map((s) => s.leave()));
      await Promise.all([...call.publishers.values()].map((p) => p.leave()));
    }
    call.feeds.clear();
    call.talking.clear();
    call.subscriptions.clear();
    call.publishers.clear();
    await this.release(call, writeState);
  }

  /**
   * Ends what an ended call says in room state (unless a membership change did already:
   * `writeState` false) and gives up this process's ownership of it. `keepMember`: the user is
   * rejoining the same channel, whose member state the join rewrites.
   */
  private async release(call: Call, writeState: boolean, keepMember = false): Promise<void> {
    const streams = [...call.streams.keys()];
    call.streams.clear();
    const member = !keepMember && !this.inCallElsewhere(call);
    if (writeState) {
      for (const streamId of streams) await this.writeStreamState(call, streamId).catch((err) => this.logger.debug({ err }, 'stream state not written'));
      if (member) await this.writeState(call).catch((err) => this.logger.debug({ err }, 'voice state not written'));
    }
    // Given up only once the state says so (or the membership change ended it).
    const entries = [...streams.map((streamId) => streamEntry(call, streamId)), ...(member ? [memberEntry(call)] : [])];
    for (const entry of entries) await this.leases.disown(entry).catch((err) => this.logger.debug({ err }, 'call ownership not dropped'));
  }

  /** The client of a reset call rejoined (`roomId`), left or went away: its old call's state is settled. */
  private async settleReset(peer: VoicePeer, roomId?: string): Promise<void> {
    const call = this.awaitingRejoin.get(peer);
    if (!call) return;
    this.awaitingRejoin.delete(peer);
    await this.release(call, true, call.roomId === roomId);
  }

  /** Another connection of the same user is still in that call (the state stays joined). */
  private inCallElsewhere(call: Call): boolean {
    return [...this.calls.values()].some((c) => c !== call && c.roomId === call.roomId && c.peer.userId === call.peer.userId);
  }

  /** Janus went away: every handle is gone. Calls end here and clients rejoin. */
  private janusLost(): void {
    this.control = undefined;
    void this.resetCalls('media_server_restarted', false);
  }

  /**
   * Ends every call here without writing state and tells the clients to rejoin: Janus lost
   * their handles, or this process's lease ran out (another may have ended its calls already).
   */
  private async resetCalls(reason: string, handlesLive: boolean): Promise<void> {
    const calls = [...this.calls.values()];
    for (const call of calls) {
      call.ended = true;
      this.calls.delete(call.peer);
      this.awaitingRejoin.set(call.peer, call);
      call.peer.send({ type: 'reset', room_id: call.roomId, reason });
    }
    for (const call of calls) {
      if (handlesLive && call.generation === this.janus.currentGeneration) {
        await Promise.all([...call.subscriptions.values(), ...call.publishers.values()].map((h) => h.leave()));
      }
      call.feeds.clear();
      call.talking.clear();
      call.subscriptions.clear();
      call.publishers.clear();
    }
  }

  /** Writes the user's org.whisper.voice.member state if it changed. */
  private async writeState(call: Call): Promise<VoiceMemberContent> {
    const voice = call.publishers.get('voice');
    const streams: VoiceStreamInfo[] = [
      ...(voice && !call.ended ? [{ feed: voice.feed, kind: 'voice' as const }] : []),
      ...[...call.streams].map(([streamId, c]) => ({ feed: c.feed, kind: 'stream' as const, stream_id: streamId, quality: c.preset })),
    ];
    const content: VoiceMemberContent = { joined: !call.ended, muted: call.mute.muted, deafened: call.mute.deafened, streams: call.ended ? [] : streams };
    const [current] = await roomState.currentStateEvents(this.db, call.roomId, [[VOICE_MEMBER_EVENT, call.peer.userId]]);
    if (current && JSON.stringify(current.content) === JSON.stringify(content)) return content;
    await this.persister.persist([this.ownDraft({ roomId: call.roomId, sender: call.peer.userId, type: VOICE_MEMBER_EVENT, stateKey: call.peer.userId, content })]);
    return content;
  }

  /** Writes a stream's org.whisper.stream state: its description while live, empty once ended. */
  private async writeStreamState(call: Call, streamId: string): Promise<void> {
    const content: Record<string, unknown> = call.streams.get(streamId) ?? endedContent(STREAM_EVENT);
    const stateKey = streamStateKey(call.peer.userId, streamId);
    const [current] = await roomState.currentStateEvents(this.db, call.roomId, [[STREAM_EVENT, stateKey]]);
    if (current ? JSON.stringify(current.content) === JSON.stringify(content) : !isLiveContent(STREAM_EVENT, content)) return;
    await this.persister.persist([this.ownDraft({ roomId: call.roomId, sender: call.peer.userId, type: STREAM_EVENT, stateKey, content })]);
  }
}


function memberEntry(call: Call): CallEntry {
  return { roomId: call.roomId, type: VOICE_MEMBER_EVENT, stateKey: call.peer.userId };
}

function streamEntry(call: Call, streamId: string): CallEntry {
  return { roomId: call.roomId, type: STREAM_EVENT, stateKey: streamStateKey(call.peer.userId, streamId) };
}


/** Janus is not installed or not reachable: voice cannot work until it is. */
export function voiceUnavailable(reason: string): MatrixError {
  return new MatrixError(503, 'M_UNKNOWN', reason, { 'org.whisper.voice_unavailable': true });
}

function mediaRestarted(): MatrixError {
  return new MatrixError(503, 'M_UNKNOWN', 'The media server restarted: join the channel again.', { 'org.whisper.voice_reset': true });
}
