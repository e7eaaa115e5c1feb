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
import { collectGarbage, serveAsChild, type StartedServer } from '../shared/childSide.ts';

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


async function startKoa(): Promise<StartedServer> {
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

const opts = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
serveAsChild(
  'http serve.ts',
  () => (opts.kind === 'koa' ? startKoa() : startBenchWhisper(opts)),
  (msg) => {
    if (msg?.type !== 'rss') return undefined;
    collectGarbage();
    return { type: 'rss', rss: process.memoryUsage().rss, vmRss: vmRssBytes(), heapUsed: process.memoryUsage().heapUsed } satisfies RssReply;
  },
  { kind: opts.kind },
);
