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
import { collectGarbage, serveAsChild } from '../shared/childSide.ts';

export interface ServeOptions {
  kind: 'whisper' | 'pipe';
  dataDir: string;
  /** The file the bare server answers GETs with. */
  serveFile?: string;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
serveAsChild(
  'media serve.ts',
  () => (opts.kind === 'pipe' ? startPipeServer(opts.dataDir, opts.serveFile) : startBenchWhisper({ dataDir: opts.dataDir })),
  (msg) => {
    if (msg?.type === 'rss') {
      collectGarbage();
      return { type: 'rss', rss: process.memoryUsage().rss };
    }
    if (msg?.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      return { type: 'cpu', micros: user + system };
    }
    return undefined;
  },
);
