/** `npm start`: read the config, start the server, print its URL, stop cleanly on a signal. */
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../logging.ts';
import { startHomeserver } from '../main.ts';
import { DataDirLockedError } from '../storage/database.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Whisper cannot start: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let running;
  try {
    running = await startHomeserver(config, logger);
  } catch (err) {
    // A start-up check against the data (e.g. secrets stored under another server key).
    if (err instanceof ConfigError) {
      console.error(`Whisper cannot start: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof DataDirLockedError) {
      console.error(`Whisper cannot start: ${err.message}`);
      process.exit(3);
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`Whisper cannot start: ${config.host}:${config.port} is already in use (set WHISPER_PORT).`);
      process.exit(3);
    }
    throw err;
  }
  console.log(`Whisper is running at ${running.url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error('Whisper failed to start:', err);
  process.exit(1);
});
