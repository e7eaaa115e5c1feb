/**
 * Child-process side of the media benchmark: ONE real Whisper (PGlite in the given data dir,
 * media under it), or the bare server it is compared with (pipeServer.ts: uploads piped to
 * files under the data dir, downloads of `serveFile`), so the parent's file reading, hashing
 * and image decoding never share its event loop or its memory. Started by run.ts through bench/shared/serverChild.ts:
 *
 *   node --expose-gc bench/media/serve.ts '{"kind":"whisper","dataDir":"/tmp/x"}'
 *   node --expose-gc bench/media/serve.ts '{"kind":"pipe","dataDir":"/tmp/y","serveFile":"/tmp/z.bin"}'
 *
 * Prints {"ready":true,"url","pid"} once listening; answers {type:'rss'} with its RSS after a
 * GC ({type:'rss', rss}), {type:'cpu'} with the CPU time it has used, all its threads
 * ({type:'cpu', micros}); {type:'stop'} (or the parent going away) closes it.
 */
import { startBenchWhisper } from '../shared/whisperServer.ts';
import { startPipeServer } from './pipeServer.ts';

export interface ServeOptions {
  kind: 'whisper' | 'pipe';
  dataDir: string;
  /** The file the bare server answers GETs with. */
  serveFile?: string;
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
  const started = opts.kind === 'pipe' ? await startPipeServer(opts.dataDir, opts.serveFile) : await startBenchWhisper({ dataDir: opts.dataDir });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= started
      .close()
      .catch((err: unknown) => console.error(`media serve.ts: close failed: ${(err as Error).message}`))
      .finally(() => process.exit(0));
    return stopping;
  };
  process.on('message', (msg: { type?: string }) => {
    if (msg?.type === 'rss') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      process.send?.({ type: 'rss', rss: process.memoryUsage().rss });
    } else if (msg?.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ type: 'cpu', micros: user + system });
    } else if (msg?.type === 'stop') {
      void stop();
    }
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.stdout.write(`${JSON.stringify({ ready: true, url: started.url, pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  console.error(`media serve.ts: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
