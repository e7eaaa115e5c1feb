/**
 * Whisper extension: voice signaling. One WebSocket per client at
 * /_whisper/client/v1/voice/ws carries JSON messages; each request may hold an `id` that its
 * answer repeats. Requests: join {room_id}, publish {kind, jsep, quality?, stream_id?,
 * description?}, unpublish {kind, stream_id?}, trickle {target: voice | stream:<id> | sub, candidate},
 * subscribe {feed}, answer {sub, jsep}, unsubscribe {sub}, layer {sub, substream, temporal?},
 * state {muted?, deafened?}, leave. Events the server sends unasked: feeds, left, reset,
 * subscription_ended, publisher_ended, speaking {feed, user_id, speaking} (Janus's audio levels). Errors are `{type: "error", errcode, error, status}`.
 * Also GET /_whisper/client/v1/voice/status: whether voice works on this server.
 */
import { z } from 'zod';
import { errors, MatrixError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { Ctx } from '../http/types.ts';
import type { Services } from '../services/index.ts';
import type { Requester } from '../services/sessions.ts';
import { DEFAULT_STREAM_ID, type VoicePeer } from '../services/voice/voiceService.ts';
import { parseBody } from './validate.ts';

/** Signaling messages are small: SDP of a few kB, candidates of a few hundred bytes. */
export const MAX_SIGNAL_BYTES = 64 * 1024;

const roomId = z.string().min(1).max(255).regex(/^!/, 'must be a room id');
const sdp = z.object({ type: z.enum(['offer', 'answer']), sdp: z.string().min(1).max(60_000) });
const offer = sdp.extend({ type: z.literal('offer') });
const answer = sdp.extend({ type: z.literal('answer') });
const kind = z.enum(['voice', 'stream']);
/** A user's name for one of their streams (several may be live at once). */
const streamId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ and -, at most 32');
const description = z.object({
  width: z.number().int().min(1).max(16384).optional(),
  height: z.number().int().min(1).max(16384).optional(),
  fps: z.number().min(1).max(500).optional(),
  codec: z.string().max(32).optional(),
  has_audio: z.boolean().optional(),
  layers: z.array(z.enum(['h', 'm', 'l'])).max(3).optional(),
});
const sub = z.string().min(1).max(32);
const candidate = z
  .object({
    candidate: z.string().max(1024),
    sdpMid: z.string().max(64).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  })
  .nullable();
const id = z.union([z.string().max(64), z.number()]).optional();

const message = z.discriminatedUnion('type', [
  z.object({ id, type: z.literal('join'), room_id: roomId, muted: z.boolean().optional(), deafened: z.boolean().optional() }),
  z.object({
    id, type: z.literal('publish'), kind, jsep: offer, quality: z.enum(['720p30', '1080p60', '1440p60', '2160p60', 'source']).optional(),
    stream_id: streamId.optional(), description: description.optional(),
  }),
  z.object({ id, type: z.literal('unpublish'), kind, stream_id: streamId.optional() }),
  z.object({ id, type: z.literal('trickle'), target: z.string().min(1).max(48), candidate }),
  z.object({ id, type: z.literal('layer'), sub, substream: z.number().int().min(0).max(2), temporal: z.number().int().min(0).max(2).optional() }),
  z.object({ id, type: z.literal('subscribe'), feed: z.number().int().positive() }),
  z.object({ id, type: z.literal('answer'), sub, jsep: answer }),
  z.object({ id, type: z.literal('unsubscribe'), sub }),
  z.object({ id, type: z.literal('state'), muted: z.boolean().optional(), deafened: z.boolean().optional() }),
  z.object({ id, type: z.literal('leave') }),
  z.object({ id, type: z.literal('ping') }),
]);

export type VoiceMessage = z.infer<typeof message>;

export function voiceHandlers(s: Services) {
  return {
    async status(ctx: Ctx) {
      ctx.body = s.voice.status();
    },
  };
}

/**
 * One signaling connection after authentication. `reauthenticate` re-checks the access
 * token before every step (a logged-out device stops signaling at once).
 */
export class VoiceSignaling {
  private readonly s: Services;
  private readonly peer: VoicePeer;
  private readonly reauthenticate: () => Promise<Requester>;
  private readonly logger: Logger;
  /** Steps run one at a time, in the order the client sent them. */
  private queue: Promise<void> = Promise.resolve();

  constructor(s: Services, peer: VoicePeer, reauthenticate: () => Promise<Requester>, logger: Logger) {
    this.s = s;
    this.peer = peer;
    this.reauthenticate = reauthenticate;
    this.logger = logger;
  }

  /** Handles one text frame; never throws (errors go back to the client). */
  receive(text: string): Promise<void> {
    this.queue = this.queue.then(() => this.handle(text));
    return this.queue;
  }

  async closed(): Promise<void> {
    await this.queue;
    await this.s.voice.disconnected(this.peer);
  }

  private async handle(text: string): Promise<void> {
    let requestId: unknown;
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw errors.notJson();
      }
      if (raw && typeof raw === 'object' && 'id' in raw) requestId = (raw as { id: unknown }).id;
      const msg = parseBody(message, raw);
      const requester = await this.reauthenticate();
      if (requester.userId !== this.peer.userId || requester.deviceId !== this.peer.deviceId) throw errors.unknownToken(false);
      const reply = await this.dispatch(msg);
      this.peer.send({ ...(msg.id !== undefined ? { id: msg.id } : {}), ...reply });
    } catch (err) {
      const e = err instanceof MatrixError ? err : errors.unknown();
      if (!(err instanceof MatrixError)) this.logger.error({ err }, 'voice signaling step failed');
      this.peer.send({
        ...(typeof requestId === 'string' || typeof requestId === 'number' ? { id: requestId } : {}),
        type: 'error', status: e.status, ...e.toJSON(),
      });
    }
  }

  private async dispatch(msg: VoiceMessage): Promise<Record<string, unknown>> {
    const voice = this.s.voice;
    switch (msg.type) {
      case 'join': {
        const { feeds } = await voice.join(this.peer, msg.room_id, { muted: msg.muted, deafened: msg.deafened });
        return { type: 'joined', room_id: msg.room_id, feeds };
      }
      case 'publish': {
        const { feed, jsep } = await voice.publish(this.peer, msg.kind, msg.jsep, { quality: msg.quality, streamId: msg.stream_id, description: msg.description });
        return { type: 'published', kind: msg.kind, ...(msg.kind === 'stream' ? { stream_id: msg.stream_id ?? DEFAULT_STREAM_ID } : {}), feed, jsep };
      }
      case 'unpublish':
        await voice.unpublish(this.peer, msg.kind, msg.stream_id);
        return { type: 'ok' };
      case 'layer':
        await voice.setLayer(this.peer, msg.sub, msg.substream, msg.temporal);
        return { type: 'ok' };
      case 'trickle':
        await voice.trickle(this.peer, msg.target, msg.candidate);
        return { type: 'ok' };
      case 'subscribe': {
        const { sub, jsep } = await voice.subscribe(this.peer, msg.feed);
        return { type: 'subscribed', feed: msg.feed, sub, jsep };
      }
      case 'answer':
        await voice.answer(this.peer, msg.sub, msg.jsep);
        return { type: 'ok' };
      case 'unsubscribe':
        await voice.unsubscribe(this.peer, msg.sub);
        return { type: 'ok' };
      case 'state':
        return { type: 'state', state: await voice.setState(this.peer, { muted: msg.muted, deafened: msg.deafened }) };
      case 'leave':
        await voice.leave(this.peer);
        return { type: 'ok' };
      case 'ping':
        return { type: 'pong' };
    }
  }
}

