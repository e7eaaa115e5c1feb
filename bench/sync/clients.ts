/**
 * The 1,000 long-polling clients and the ledger of what each one received.
 *
 * A client behaves as a careful Matrix client does: /sync with `since`, `timeout` and a
 * stored filter (timeline limit 50); when a room's timeline comes back `limited`, it fills
 * the gap from `prev_batch` back to its previous `next_batch` with /messages?dir=b. Every
 * m.room.message is recorded by its sequence number (carried in the body) with the event id,
 * the time it arrived and the sync tokens it came with, so a loss or a duplicate can be
 * traced to the tokens involved.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonClient } from './http.ts';

const C = '/_matrix/client/v3';
const RETRY_MS = 250;
/** Extra client-side patience over the long-poll's own timeout before calling it a failure
 * (matrix-js-sdk's sync buffer period). */
const CLIENT_GRACE_MS = 80_000;
const BODY = /^bench (\d+) /;

export interface SentMessage {
  seq: number;
  /** Index into the room list. */
  room: number;
  /** Index into the user list. */
  sender: number;
  /** performance.now() when the PUT was issued. */
  sentAt: number;
  /** performance.now() when the PUT answered 200. */
  ackAt?: number;
  eventId?: string;
  /** Why the send failed (non-2xx status or exception). */
  failed?: string;
}

export interface Receipt {
  count: number;
  /** performance.now() of the first arrival. */
  firstAt: number;
  eventIds: string[];
  /** How each copy came: "sync <since>→<next_batch>" or "gap <prev_batch>…<since>". */
  via: string[];
}

export interface SyncLogEntry {
  since: string;
  next: string;
  /** performance.now() when the response arrived. */
  at: number;
  seqs: number[];
  limitedRooms: number;
}

export class Ledger {
  readonly messages: SentMessage[] = [];
  /** Per user: sequence number → what arrived. */
  readonly received: Array<Map<number, Receipt>>;
  /** Per user: every sync response while recording (for tracing losses). */
  readonly syncLog: SyncLogEntry[][];
  /** Unique (message, recipient other than the sender) arrivals so far. */
  deliveredPairs = 0;
  /** Messages whose sequence number the ledger never issued. */
  unknown = 0;
  recording = false;
  /** Which user indexes are in which room (room id → members), for counting pairs. */
  private readonly roomMembers: Map<string, Set<number>>;
  private readonly roomIndex: Map<string, number>;

  constructor(users: number, rooms: Array<{ roomId: string; members: number[] }>) {
    this.received = Array.from({ length: users }, () => new Map());
    this.syncLog = Array.from({ length: users }, () => []);
    this.roomMembers = new Map(rooms.map((r) => [r.roomId, new Set(r.members)]));
    this.roomIndex = new Map(rooms.map((r, i) => [r.roomId, i]));
  }

  record(user: number, roomId: string, event: any, at: number, via: string): number | undefined {
    if (event?.type !== 'm.room.message') return undefined;
    const m = BODY.exec(String(event.content?.body ?? ''));
    if (!m) return undefined;
    const seq = Number(m[1]);
    const msg = this.messages[seq];
    if (!msg || this.roomIndex.get(roomId) !== msg.room) {
      this.unknown++;
      return undefined;
    }
    const mine = this.received[user];
    const r = mine.get(seq);
    if (r) {
      r.count++;
      r.eventIds.push(String(event.event_id));
      r.via.push(via);
    } else {
      mine.set(seq, { count: 1, firstAt: at, eventIds: [String(event.event_id)], via: [via] });
      if (user !== msg.sender) this.deliveredPairs++;
    }
    return seq;
  }
}

export interface PollStats {
  requests: number;
  /** 200 answers to long-polls (the idle measurement counts these). */
  responses: number;
  responsesWithMessages: number;
  messageEvents: number;
  /** Joined-room sections that came back limited (each was gap-filled). */
  limitedSyncs: number;
  gapFillRequests: number;
  errors: { syncNon2xx: number; syncExceptions: number; gapFillNon2xx: number; gapFillExceptions: number };
  errorSamples: string[];
}

export function newPollStats(): PollStats {
  return {
    requests: 0,
    responses: 0,
    responsesWithMessages: 0,
    messageEvents: 0,
    limitedSyncs: 0,
    gapFillRequests: 0,
    errors: { syncNon2xx: 0, syncExceptions: 0, gapFillNon2xx: 0, gapFillExceptions: 0 },
    errorSamples: [],
  };
}

export function noteError(stats: PollStats, what: string): void {
  if (stats.errorSamples.length < 20) stats.errorSamples.push(what.slice(0, 400));
}

export interface PollerOptions {
  http: JsonClient;
  stats: PollStats;
  user: number;
  token: string;
  timeoutMs: number;
  /** The first long-poll's timeout, so that the clients' poll cycles are spread evenly. */
  firstTimeoutMs: number;
}

/** One long-polling client. `run` resolves once stopped. */
export abstract class Poller {
  protected readonly o: PollerOptions;
  protected stopped = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(o: PollerOptions) {
    this.o = o;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
  }

  protected abstract path(timeoutMs: number): string;
  protected abstract handle(body: any, at: number): Promise<void>;

  private async run(): Promise<void> {
    const { http, stats } = this.o;
    let timeout = this.o.firstTimeoutMs;
    while (!this.stopped) {
      try {
        stats.requests++;
        const res = await http.request('GET', this.path(timeout), { token: this.o.token, signal: this.abort.signal, timeoutMs: timeout + CLIENT_GRACE_MS });
        if (this.stopped) break;
        if (res.status !== 200) {
          stats.errors.syncNon2xx++;
          noteError(stats, `sync ${res.status} ${JSON.stringify(res.body)}`);
          await sleep(RETRY_MS);
          continue;
        }
        stats.responses++;
        await this.handle(res.body, performance.now());
        timeout = this.o.timeoutMs;
      } catch (err) {
        if (this.stopped) break;
        stats.errors.syncExceptions++;
        noteError(stats, `sync exception ${(err as Error).message}`);
        await sleep(RETRY_MS);
      }
    }
  }
}

/** A Matrix client of Whisper. */
export class SyncPoller extends Poller {
  private since: string;
  private readonly filterId: string;
  private readonly ledger: Ledger;

  constructor(o: PollerOptions & { since: string; filterId: string; ledger: Ledger }) {
    super(o);
    this.since = o.since;
    this.filterId = o.filterId;
    this.ledger = o.ledger;
  }

  protected path(timeoutMs: number): string {
    return `${C}/sync?since=${encodeURIComponent(this.since)}&timeout=${timeoutMs}&filter=${encodeURIComponent(this.filterId)}`;
  }

  protected async handle(body: any, at: number): Promise<void> {
    const { stats } = this.o;
    const since = this.since;
    const next = String(body.next_batch);
    const via = `sync ${since}→${next}`;
    const seqs: number[] = [];
    let limitedRooms = 0;
    for (const [roomId, room] of Object.entries<any>(body.rooms?.join ?? {})) {
      const timeline = room.timeline ?? { events: [] };
      if (timeline.limited) {
        limitedRooms++;
        stats.limitedSyncs++;
        const gap = await this.fillGap(roomId, String(timeline.prev_batch), since);
        const gapAt = performance.now();
        for (const e of gap) {
          const seq = this.ledger.record(this.o.user, roomId, e, gapAt, `gap ${timeline.prev_batch}…${since}`);
          if (seq !== undefined) seqs.push(seq);
        }
      }
      for (const e of timeline.events ?? []) {
        const seq = this.ledger.record(this.o.user, roomId, e, at, via);
        if (seq !== undefined) seqs.push(seq);
      }
    }
    if (seqs.length) {
      stats.responsesWithMessages++;
      stats.messageEvents += seqs.length;
    }
    if (this.ledger.recording) this.ledger.syncLog[this.o.user].push({ since, next, at, seqs, limitedRooms });
    this.since = next;
  }

  /** The events a limited timeline skipped: back from prev_batch to the previous next_batch. */
  private async fillGap(roomId: string, prevBatch: string, to: string): Promise<any[]> {
    const { http, stats } = this.o;
    const gap: any[] = [];
    let from = prevBatch;
    for (let page = 0; page < 1000 && !this.stopped; page++) {
      stats.gapFillRequests++;
      const path = `${C}/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
      try {
        const res = await http.request('GET', path, { token: this.o.token, timeoutMs: CLIENT_GRACE_MS });
        if (res.status !== 200) {
          stats.errors.gapFillNon2xx++;
          noteError(stats, `messages ${res.status} ${JSON.stringify(res.body)}`);
          break;
        }
        gap.unshift(...[...(res.body.chunk ?? [])].reverse());
        if (!res.body.end) break;
        from = String(res.body.end);
      } catch (err) {
        stats.errors.gapFillExceptions++;
        noteError(stats, `messages exception ${(err as Error).message}`);
        break;
      }
    }
    return gap;
  }
}

/** A client of the bare Koa long-poll endpoint: same request pattern, nothing to record. */
export class KoaPoller extends Poller {
  protected path(timeoutMs: number): string {
    return `/poll?timeout=${timeoutMs}`;
  }

  protected async handle(): Promise<void> {}
}
