/**
 * Parent side of serve.ts: forks a server child (same Node binary, `--expose-gc`), waits for
 * its ready line, asks it for its RSS, and stops it by its PID.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReadyLine, RssReply, ServeOptions } from './serve.ts';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;

export interface ServerChild {
  url: string;
  pid: number;
  /** Resident set size in bytes after a GC in the child (process.memoryUsage().rss and /proc VmRSS). */
  rss(): Promise<RssReply>;
  stop(): Promise<void>;
}

/** Children still running, so an interrupted run can stop them. */
const live = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startServerChild(opts: ServeOptions): Promise<ServerChild> {
  const child = fork(SERVE, [JSON.stringify(opts)], {
    execPath: process.execPath,
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));

  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${opts.kind} child not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const onExit = (code: number | null) => reject(new Error(`${opts.kind} child exited (${code}) before it was ready`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return; // not ours
      }
      if ((parsed as ReadyLine)?.ready === true) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(parsed as ReadyLine);
      }
    });
  }).catch((err: unknown) => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    throw err;
  });

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
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = exited(child);
      if (child.connected) child.send({ type: 'stop' });
      else process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, STOP_TIMEOUT_MS);
      await done;
      clearTimeout(timer);
    },
  };
}
