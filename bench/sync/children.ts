/**
 * Parent side of serve.ts, as bench/http/children.ts is for the HTTP benchmark (same fork,
 * ready line and stop-by-PID protocol), plus what this benchmark needs of the child: its CPU
 * time (process.cpuUsage() asked over IPC) and its RSS, now from /proc without disturbing it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forkServer, stopChild } from '../shared/serverChild.ts';

import type { ReadyLine, ServeOptions, StatsReply, StatsRequest } from './serve.ts';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));
const IPC_TIMEOUT_MS = 30_000;

export interface ServerChild {
  kind: ServeOptions['kind'];
  url: string;
  pid: number;
  /** process.cpuUsage() and memory of the child, over IPC. */
  stats(): Promise<StatsReply>;
  /** The same after two full GCs in the child. */
  statsAfterGc(): Promise<StatsReply>;
  /** As stats, with the pauses since the previous windowStats (a meter of its own). */
  windowStats(): Promise<StatsReply>;
  /** Samples the child's heap for `ms` (allocations kept past a scavenge) into `file`. */
  sampleHeap(ms: number, file: string): Promise<void>;
  /** The child's current VmRSS in bytes, read from /proc (no work for the child), or null. */
  vmRss(): number | null;
  stop(): Promise<void>;
}


export function vmRssOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export async function startServerChild(opts: ServeOptions): Promise<ServerChild> {
  const { child, ready } = await forkServer<ReadyLine>(SERVE, opts);


  let nextId = 1;
  /** Sends a request and waits for the reply of `replyType` with the same id. */
  const ask = <R extends { type: string; id: number }>(request: Record<string, unknown>, replyType: R['type'], timeoutMs = IPC_TIMEOUT_MS) =>
    new Promise<R>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`${opts.kind} child did not answer '${String(request.type)}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (msg: R) => {
        if (msg?.type !== replyType || msg.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(msg);
      };
      child.on('message', onMessage);
      child.send({ ...request, id }, (err) => {
        if (err) {
          clearTimeout(timer);
          child.off('message', onMessage);
          reject(err);
        }
      });
    });
  const stats = (type: StatsRequest['type']) => ask<StatsReply>({ type }, 'stats');

  const pid = ready.pid;
  return {
    kind: opts.kind,
    url: ready.url,
    pid,
    stats: () => stats('stats'),
    statsAfterGc: () => stats('gc'),
    windowStats: () => stats('window'),
    sampleHeap: async (ms, file) => {
      const reply = await ask<{ type: 'heapSampled'; id: number; error?: string }>({ type: 'heapSample', ms, file }, 'heapSampled', ms + IPC_TIMEOUT_MS);
      if (reply.error) throw new Error(`heap sample failed: ${reply.error}`);
    },
    vmRss: () => vmRssOf(pid),
    stop: () => stopChild(child, pid),
  };
}
