/**
 * Parent side of serve.ts, as bench/http/children.ts is for the HTTP benchmark (same fork,
 * ready line and stop-by-PID protocol), plus what this benchmark needs of the child: its CPU
 * time (process.cpuUsage() asked over IPC) and its RSS, now from /proc without disturbing it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReadyLine, ServeOptions, StatsReply } from './serve.ts';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;
const IPC_TIMEOUT_MS = 30_000;

export interface ServerChild {
  kind: ServeOptions['kind'];
  url: string;
  pid: number;
  /** process.cpuUsage() and memory of the child, over IPC. */
  stats(): Promise<StatsReply>;
  /** The same after two full GCs in the child. */
  statsAfterGc(): Promise<StatsReply>;
  /** The child's current VmRSS in bytes, read from /proc (no work for the child), or null. */
  vmRss(): number | null;
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

export function vmRssOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
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

  let nextId = 1;
  const ask = (type: 'stats' | 'gc') =>
    new Promise<StatsReply>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`${opts.kind} child did not answer '${type}' within ${IPC_TIMEOUT_MS} ms`));
      }, IPC_TIMEOUT_MS);
      const onMessage = (msg: StatsReply) => {
        if (msg?.type !== 'stats' || msg.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(msg);
      };
      child.on('message', onMessage);
      child.send({ type, id }, (err) => {
        if (err) {
          clearTimeout(timer);
          child.off('message', onMessage);
          reject(err);
        }
      });
    });

  const pid = ready.pid;
  return {
    kind: opts.kind,
    url: ready.url,
    pid,
    stats: () => ask('stats'),
    statsAfterGc: () => ask('gc'),
    vmRss: () => vmRssOf(pid),
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
