/**
 * Child-process side of the sync benchmark: starts ONE server, a real Whisper or a bare Koa
 * long-poll endpoint, so the load generator in the parent does not share its event loop.
 * Started by children.ts with `fork` and `--expose-gc`:
 *
 *   node --expose-gc bench/sync/serve.ts '{"kind":"whisper","dataDir":"/tmp/x","databaseUrl":"postgres://…"}'
 *
 * Prints one JSON line on stdout once listening: {"ready":true,"kind","url","pid"}. Then
 * answers IPC requests {type, id}:
 *   'stats' → {cpuUserUs, cpuSystemUs, rss, heapUsed, maxRss} (process.cpuUsage() and
 *             process.memoryUsage(); maxRss is the lifetime peak from process.resourceUsage()),
 *             plus the server's own pauses since the previous 'stats': event-loop delay p99
 *             and max, and garbage-collection pauses (count, total, longest)
 *   'gc'    → the same, after two full GCs (for an idle RSS figure)
 *   'stop'  → closes the server and exits.
 * Exits too if the parent goes away.
 *
 * The Koa endpoint, GET /poll?timeout=<ms>, answers a small JSON body after `timeout` ms
 * (default 30 000), or at once when the client goes away: the cheapest honest long-poll, the
 * baseline for what a held /sync costs Whisper.
 */
import http from 'node:http';
import { pauseMeter, type PauseMeter, type Pauses } from '../shared/pauses.ts';
import { sampleHeap } from '../shared/heapSample.ts';
import Koa from 'koa';
import { startBenchWhisper } from '../shared/whisperServer.ts';
import { listenOnLoopback } from '../shared/listen.ts';
import { collectGarbage, serveAsChild, type StartedServer } from '../shared/childSide.ts';
import { descendantsUsage } from './proc.ts';

export type ServeKind = 'whisper' | 'koa-longpoll';

export interface ServeOptions {
  kind: ServeKind;
  /** Whisper only: where PGlite lives (always given, also with a database URL). */
  dataDir?: string;
  /** Whisper only: PostgreSQL instead of PGlite. */
  databaseUrl?: string;
  /** Whisper only: its WHISPER_CACHE_FACTOR (0: caches off). */
  cacheFactor?: number;
}

export interface ReadyLine {
  ready: true;
  kind: ServeKind;
  url: string;
  pid: number;
}

export interface StatsRequest {
  type: 'stats' | 'gc' | 'window';
  id: number;
}

/** Samples the server's heap for `ms` into `file`; answered by {type: 'heapSampled', id}. */
export interface HeapSampleRequest {
  type: 'heapSample';
  id: number;
  ms: number;
  file: string;
}

export interface StatsReply {
  type: 'stats';
  id: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /** CPU of the server's own child processes (PGlite's), not in cpuUserUs/cpuSystemUs. */
  childCpuUs: number;
  /** Resident bytes of the server and its child processes together. */
  rss: number;
  heapUsed: number;
  /** Lifetime peak resident set size, bytes. */
  maxRss: number;
  /** Since the previous stats: the server's event-loop delay, and its GC pauses. */
  pauses: Pauses;
}

const DEFAULT_POLL_MS = 30_000;
const MAX_POLL_MS = 120_000;

async function listen(server: http.Server): Promise<string> {
  const url = await listenOnLoopback(server);
  return url;
}

async function startKoaLongPoll(): Promise<StartedServer> {
  const app = new Koa();
  const held = new Set<() => void>();
  app.use(async (ctx) => {
    if (ctx.method !== 'GET' || ctx.path !== '/poll') {
      ctx.status = 404;
      return;
    }
    const asked = Number(ctx.query.timeout ?? DEFAULT_POLL_MS);
    const timeoutMs = Number.isFinite(asked) ? Math.min(Math.max(0, asked), MAX_POLL_MS) : DEFAULT_POLL_MS;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        ctx.req.off('close', done);
        held.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      ctx.req.once('close', done);
      held.add(done);
    });
    ctx.body = { next_batch: 'koa', rooms: {} };
  });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000; // as Whisper's server
  const url = await listen(server);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        for (const done of [...held]) done();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}


function stats(id: number, meter: PauseMeter): StatsReply {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const children = descendantsUsage(process.pid);
  return {
    pauses: meter.read(),
    type: 'stats',
    id,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    childCpuUs: Math.round(children.cpuSeconds * 1e6),
    rss: mem.rss + children.rssBytes,
    heapUsed: mem.heapUsed,
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
let pauses: PauseMeter | undefined;
/** A second meter, read every few seconds for the per-window diagnosis. */
let windowPauses: PauseMeter | undefined;
serveAsChild(
  'sync serve.ts',
  async () => {
    const started = opts.kind === 'koa-longpoll' ? await startKoaLongPoll() : await startBenchWhisper(opts);
    pauses = pauseMeter();
    windowPauses = pauseMeter();
    return started;
  },
  (msg) => {
    if (msg?.type === 'heapSample') {
      const { id, ms, file } = msg as HeapSampleRequest;
      void sampleHeap(ms, file).then(
        () => process.send?.({ type: 'heapSampled', id }),
        (err: unknown) => process.send?.({ type: 'heapSampled', id, error: (err as Error).message }),
      );
      return undefined;
    }
    if (msg?.type !== 'stats' && msg?.type !== 'gc' && msg?.type !== 'window') return undefined;
    if (msg.type === 'gc') collectGarbage();
    return stats(msg.id ?? 0, msg.type === 'window' ? windowPauses! : pauses!);
  },
  { kind: opts.kind },
);
