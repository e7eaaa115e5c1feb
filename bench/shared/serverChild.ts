/**
 * Forking a benchmark's server child and stopping it: the ready line, the registry of live
 * children (so an interrupted run can kill them by PID), and a stop with a SIGKILL fallback.
 * Shared by bench/http and bench/sync.
 */
import { appendFileSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;

export interface ReadyLine {
  ready: true;
  url: string;
  pid: number;
}

/** Children still running. Module-level on purpose: the run's signal handlers must reach them. */
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

/** Forks `script` with the options as JSON and waits for its `{"ready": true, ...}` line. */
export async function forkServer<R extends ReadyLine>(script: string, opts: { kind: string }): Promise<{ child: ChildProcess; ready: R }> {
  const child = fork(script, [JSON.stringify(opts)], {
    execPath: process.execPath,
    // BENCH_SERVER_NODE_ARGS: extra flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    execArgv: ['--expose-gc', ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const ready = await new Promise<R>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${opts.kind} child not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const onExit = (code: number | null) => reject(new Error(`${opts.kind} child exited (${code}) before it was ready`));
    child.once('exit', onExit);
    // BENCH_SERVER_STDOUT: a file that gets the servers' other stdout lines (--trace-gc output, say).
    const copyTo = process.env.BENCH_SERVER_STDOUT;
    lines.on('line', (line) => {
      if (copyTo) appendFileSync(copyTo, `${child.pid} ${line}\n`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return; // not ours
      }
      if ((parsed as ReadyLine)?.ready === true) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(parsed as R);
      }
    });
  }).catch((err: unknown) => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    throw err;
  });
  return { child, ready };
}

/** Asks the child to stop (IPC, else SIGTERM), and kills it if it has not after a while. */
export async function stopChild(child: ChildProcess, pid: number): Promise<void> {
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
}
