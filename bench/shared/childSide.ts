/**
 * The child side of a benchmark's server (bench/shared/serverChild.ts forks it): starts the
 * server, prints the ready line, answers the parent's IPC messages, and closes the server and
 * exits on {type:'stop'}, SIGTERM, SIGINT or the parent going away.
 */

export interface StartedServer {
  url: string;
  close(): Promise<void>;
}

export interface ChildMessage {
  type?: string;
  id?: number;
}

/**
 * Runs `start` as this process's server. `answer` replies to each message but 'stop' (nothing
 * is sent for undefined); `ready` adds fields to the ready line.
 */
export function serveAsChild<S extends StartedServer>(
  name: string,
  start: () => Promise<S>,
  answer: (msg: ChildMessage, started: S) => unknown,
  ready: Record<string, unknown> = {},
): void {
  const main = async () => {
    const started = await start();
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= started
        .close()
        .catch((err: unknown) => console.error(`${name}: close failed: ${(err as Error).message}`))
        .finally(() => process.exit(0));
      return stopping;
    };
    process.on('message', (msg: ChildMessage) => {
      if (msg?.type === 'stop') return void stop();
      const reply = answer(msg, started);
      if (reply !== undefined) process.send?.(reply);
    });
    process.on('disconnect', () => void stop());
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
    process.stdout.write(`${JSON.stringify({ ready: true, ...ready, url: started.url, pid: process.pid })}\n`);
  };
  main().catch((err: unknown) => {
    console.error(`${name}: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}

/** Two full collections (the child runs with --expose-gc), before a memory figure. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}
