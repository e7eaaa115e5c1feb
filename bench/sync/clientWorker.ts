/**
 * A worker thread running a share of the long-polling clients (clientPool.ts starts it).
 *
 * Why threads: each has its own V8 heap, so a young-generation collection copies only this
 * thread's in-flight polls, and a delivery is held up only by its own thread's pauses. With
 * all 1,000 clients in one heap, every scavenge (about every second) copied 13-16 MB of
 * polls and paused every client 15-60 ms, which landed in the delivery figures.
 *
 * Arrivals go to the parent in batches, stamped on the parent's clock (performance.timeOrigin
 * differs per thread), with a snapshot of this thread's poll stats.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { benchSeq, KoaPoller, newPollStats, SyncPoller, type Arrival, type ArrivalSink, type Poller, type SyncLogEntry } from './clients.ts';
import { JsonClient } from './http.ts';
import { pauseMeter, type Pauses } from '../shared/pauses.ts';

export interface WorkerClient {
  user: number;
  token: string;
  firstTimeoutMs: number;
  /** Sync clients only. */
  since?: string;
  filterId?: string;
}

export interface WorkerSetup {
  kind: 'sync' | 'koa';
  url: string;
  timeoutMs: number;
  /** The parent's performance.timeOrigin, to stamp arrivals on its clock. */
  parentTimeOrigin: number;
  clients: WorkerClient[];
}

export type WorkerReport =
  | { type: 'batch'; arrivals: Arrival[]; syncLog: Array<[number, SyncLogEntry]>; stats: ReturnType<typeof newPollStats> }
  | { type: 'stopped'; pauses: Pauses };

const FLUSH_MS = 20;

const setup = workerData as WorkerSetup;
const offset = performance.timeOrigin - setup.parentTimeOrigin;
const now = () => performance.now() + offset;
const http = new JsonClient(setup.url);
const stats = newPollStats();
/** This thread's pauses, from the parent's 'mark' (the load's start) to the stop. */
const pauses = pauseMeter();
let arrivals: Arrival[] = [];
let syncLog: Array<[number, SyncLogEntry]> = [];

const sink: ArrivalSink = {
  record(user, roomId, event, at, via) {
    const seq = benchSeq(event);
    if (seq !== undefined) arrivals.push({ user, roomId, seq, eventId: String(event.event_id), at, via });
    return seq;
  },
  logSync(user, entry) {
    syncLog.push([user, entry]);
  },
};

function flush(): void {
  parentPort!.postMessage({ type: 'batch', arrivals, syncLog, stats } satisfies WorkerReport);
  arrivals = [];
  syncLog = [];
}

const pollers: Poller[] = setup.clients.map((c) =>
  setup.kind === 'koa'
    ? new KoaPoller({ http, stats, user: c.user, token: c.token, timeoutMs: setup.timeoutMs, firstTimeoutMs: c.firstTimeoutMs, now })
    : new SyncPoller({ http, stats, user: c.user, token: c.token, timeoutMs: setup.timeoutMs, firstTimeoutMs: c.firstTimeoutMs, now, since: c.since!, filterId: c.filterId!, ledger: sink }),
);
for (const p of pollers) p.start();
const flusher = setInterval(flush, FLUSH_MS);

parentPort!.on('message', (msg: { type: 'stop' | 'mark' }) => {
  if (msg.type === 'mark') return void pauses();
  if (msg.type !== 'stop') return;
  void (async () => {
    for (const p of pollers) p.halt();
    await http.close();
    await Promise.all(pollers.map((p) => p.finished()));
    clearInterval(flusher);
    flush();
    parentPort!.postMessage({ type: 'stopped', pauses: pauses() } satisfies WorkerReport);
    parentPort!.close();
  })();
});
