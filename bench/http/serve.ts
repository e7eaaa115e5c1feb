/**
 * Child-process side of the HTTP benchmark: starts ONE server (a bare Koa app or a real
 * Whisper) so the load generator in the parent does not share its event loop. Started by
 * children.ts with `fork` and `--expose-gc`:
 *
 *   node --expose-gc bench/http/serve.ts '{"kind":"whisper","dataDir":"/tmp/x","databaseUrl":"postgres://…"}'
 *
 * Prints one JSON line on stdout once listening: {"ready":true,"kind","url","pid"}. Then
 * answers IPC messages: {type:'rss'} → {type:'rss', rss, vmRss, heapUsed} (bytes, after a GC),
 * {type:'stop'} → closes the server and exits. Exits too if the parent goes away.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import Koa from 'koa';
import { startBenchWhisper } from '../shared/whisperServer.ts';
import { listenOnLoopback } from '../shared/listen.ts';

export interface ServeOptions {
  kind: 'koa' | 'whisper';
  /** Whisper only: where PGlite lives (always given, also with a database URL). */
  dataDir?: string;
  /** Whisper only: PostgreSQL instead of PGlite. */
  databaseUrl?: string;
}

export interface ReadyLine {
  ready: true;
  kind: ServeOptions['kind'];
  url: string;
  pid: number;
}

export interface RssReply {
  type: 'rss';
  rss: number;
  vmRss: number | null;
  heapUsed: number;
}


interface Started {
  url: string;
  close(): Promise<void>;
}

async function startKoa(): Promise<Started> {
  const app = new Koa();
  app.use((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/json') ctx.body = { hello: 'world', ok: true, n: 1 };
    else ctx.status = 404;
  });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000; // as Whisper's server
  const url = await listenOnLoopback(server);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}


function vmRssBytes(): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
  const started = opts.kind === 'koa' ? await startKoa() : await startBenchWhisper(opts);

  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= started
      .close()
      .catch((err: unknown) => console.error(`serve.ts: close failed: ${(err as Error).message}`))
      .finally(() => process.exit(code));
    return stopping;
  };

  process.on('message', (msg: { type?: string }) => {
    if (msg?.type === 'rss') {
      collect();
      const reply: RssReply = { type: 'rss', rss: process.memoryUsage().rss, vmRss: vmRssBytes(), heapUsed: process.memoryUsage().heapUsed };
      process.send?.(reply);
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
