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
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import Koa from 'koa';
import { startBenchWhisper } from '../shared/whisperServer.ts';
import { listenOnLoopback } from '../shared/listen.ts';

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
  type: 'stats' | 'gc';
  id: number;
}

export interface StatsReply {
  type: 'stats';
  id: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  rss: number;
  heapUsed: number;
  /** Lifetime peak resident set size, bytes. */
  maxRss: number;
  /** Since the previous stats: the server's event-loop delay, and its GC pauses. */
  pauses: { loopDelayP99Ms: number; loopDelayMaxMs: number; gcCount: number; gcTotalMs: number; gcMaxMs: number; majorGcCount: number };
}

const DEFAULT_POLL_MS = 30_000;
const MAX_POLL_MS = 120_000;

interface Started {
  url: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  const url = await listenOnLoopback(server);
  return url;
}

async function startKoaLongPoll(): Promise<Started> {
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


/** The server's pauses, counted from one stats request to the next. */
function pauseMeter(): () => StatsReply['pauses'] {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let gc = { gcCount: 0, gcTotalMs: 0, gcMaxMs: 0, majorGcCount: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.gcCount++;
      gc.gcTotalMs += e.duration;
      gc.gcMaxMs = Math.max(gc.gcMaxMs, e.duration);
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.majorGcCount++;
    }
  }).observe({ entryTypes: ['gc'] });
  return () => {
    const out = { loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6, ...gc };
    loop.reset();
    gc = { gcCount: 0, gcTotalMs: 0, gcMaxMs: 0, majorGcCount: 0 };
    return out;
  };
}

function stats(id: number, pauses: () => StatsReply['pauses']): StatsReply {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    pauses: pauses(),
    type: 'stats',
    id,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
  const started = opts.kind === 'koa-longpoll' ? await startKoaLongPoll() : await startBenchWhisper(opts);
  const pauses = pauseMeter();

  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= started
      .close()
      .catch((err: unknown) => console.error(`serve.ts: close failed: ${(err as Error).message}`))
      .finally(() => process.exit(code));
    return stopping;
  };

  process.on('message', (msg: { type?: string; id?: number }) => {
    if (msg?.type === 'stats' || msg?.type === 'gc') {
      if (msg.type === 'gc') {
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        gc?.();
      }
      process.send?.(stats(msg.id ?? 0, pauses));
    } else if (msg?.type === 'stop') {
      void stop(0);
    }
  });
  process.on('disconnect', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));

  const ready: ReadyLine = { ready: true, kind: opts.kind, url: started.url, pid: process.pid };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((err: unknown) => {
  console.error(`serve.ts: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
