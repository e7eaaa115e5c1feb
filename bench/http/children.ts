/**
 * Parent side of serve.ts: forks a server child (same Node binary, `--expose-gc`), waits for
 * its ready line, asks it for its RSS, and stops it by its PID.
 */
import { fileURLToPath } from 'node:url';
import { forkServer, stopChild } from '../shared/serverChild.ts';

import type { ReadyLine, RssReply, ServeOptions } from './serve.ts';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));

export interface ServerChild {
  url: string;
  pid: number;
  /** Resident set size in bytes after a GC in the child (process.memoryUsage().rss and /proc VmRSS). */
  rss(): Promise<RssReply>;
  stop(): Promise<void>;
}


export async function startServerChild(opts: ServeOptions): Promise<ServerChild> {
  const { child, ready } = await forkServer<ReadyLine>(SERVE, opts);


  const pid = ready.pid;
  return {
    url: ready.url,
    pid,
    rss: () =>
      new Promise<RssReply>((resolve, reject) => {
        const onMessage = (msg: RssReply) => {
          if (msg?.type !== 'rss') return;
          child.off('message', onMessage);
          resolve(msg);
        };
        child.on('message', onMessage);
        child.send({ type: 'rss' }, (err) => {
          if (err) reject(err);
        });
      }),
    stop: () => stopChild(child, pid),
  };
}
