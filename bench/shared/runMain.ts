/**
 * Runs a benchmark's main: on SIGINT/SIGTERM or failure the server children are killed by
 * PID and the run's clean-up (temp dirs, scratch databases) still happens.
 */
import { killAllChildren } from './serverChild.ts';

export async function runMain(main: () => Promise<void>, cleanUp: () => Promise<void>, log: (line: string) => void): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      killAllChildren();
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    await main();
  } catch (err) {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}
