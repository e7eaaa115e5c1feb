/**
 * The message load: an open-loop schedule (message n is issued at start + n/rate, whether or
 * not earlier sends have answered), each message in a room picked so that every membership
 * sends equally often (a DM member as often as a group member, so a group of 20 gets ten
 * times a DM's traffic), sent by that member with its own transaction id.
 */
import type { BenchUser } from '../http/matrix.ts';
import { noteError, type Ledger, type PollStats } from './clients.ts';
import type { JsonClient } from './http.ts';
import type { Room } from './setup.ts';

const C = '/_matrix/client/v3';

/** Small deterministic PRNG (mulberry32), so both backends get the same schedule. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PlannedMessage {
  room: number;
  sender: number;
}

export function planMessages(rooms: Room[], count: number, seed: number): PlannedMessage[] {
  const memberships: PlannedMessage[] = [];
  rooms.forEach((r, room) => r.members.forEach((sender) => memberships.push({ room, sender })));
  const rnd = prng(seed);
  return Array.from({ length: count }, () => memberships[Math.floor(rnd() * memberships.length)]);
}

export interface SendStats {
  issued: number;
  ok: number;
  non2xx: number;
  exceptions: number;
  maxInFlight: number;
  /** PUT round trips of the successful sends, ms. */
  latencies: number[];
  /** performance.now() of the last successful answer. */
  lastAckAt: number;
  /** How late the issuing was against the schedule at its worst, ms (load-generator lag). */
  maxScheduleSlipMs: number;
}

export interface SendRun {
  stats: SendStats;
  /** Resolves when the last message has been issued. */
  issued: Promise<void>;
  /** Resolves when every send has answered or failed. */
  settled(): Promise<void>;
}

export function startSending(o: {
  http: JsonClient;
  users: BenchUser[];
  rooms: Room[];
  plan: PlannedMessage[];
  ratePerSec: number;
  ledger: Ledger;
  errors: PollStats;
  runTag: string;
  /** A send not answered by then counts as an exception (the server may still store it). */
  sendTimeoutMs: number;
}): SendRun {
  const stats: SendStats = { issued: 0, ok: 0, non2xx: 0, exceptions: 0, maxInFlight: 0, latencies: [], lastAckAt: 0, maxScheduleSlipMs: 0 };
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const dueAt = (n: number) => start + (n * 1000) / o.ratePerSec;

  const send = (seq: number) => {
    const planned = o.plan[seq];
    const sentAt = performance.now();
    stats.maxScheduleSlipMs = Math.max(stats.maxScheduleSlipMs, sentAt - dueAt(seq));
    const msg = { seq, room: planned.room, sender: planned.sender, sentAt } as Ledger['messages'][number];
    o.ledger.messages[seq] = msg;
    const roomId = o.rooms[planned.room].roomId;
    const path = `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${o.runTag}-${seq}`;
    const body = { msgtype: 'm.text', body: `bench ${seq} ${Date.now()}` };
    const p = o.http
      .request('PUT', path, { token: o.users[planned.sender].accessToken, body, timeoutMs: o.sendTimeoutMs })
      .then(
        (res) => {
          if (res.status === 200 && typeof res.body?.event_id === 'string') {
            msg.ackAt = performance.now();
            msg.eventId = res.body.event_id;
            stats.ok++;
            stats.latencies.push(msg.ackAt - sentAt);
            stats.lastAckAt = msg.ackAt;
          } else {
            stats.non2xx++;
            msg.failed = `${res.status} ${JSON.stringify(res.body)}`;
            noteError(o.errors, `send ${msg.failed}`);
          }
        },
        (err: unknown) => {
          stats.exceptions++;
          msg.failed = `exception ${(err as Error).message}`;
          noteError(o.errors, `send ${msg.failed}`);
        },
      )
      .finally(() => pending.delete(p));
    pending.add(p);
    stats.issued++;
    stats.maxInFlight = Math.max(stats.maxInFlight, pending.size);
  };

  const issued = new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (stats.issued < o.plan.length && dueAt(stats.issued) <= now) send(stats.issued);
      if (stats.issued >= o.plan.length) return resolve();
      setTimeout(tick, Math.max(0, dueAt(stats.issued) - performance.now()));
    };
    tick();
  });

  return {
    stats,
    issued,
    async settled() {
      await issued;
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
