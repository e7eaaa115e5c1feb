/**
 * A real Whisper for a benchmark child: open registration, silent logs, every rate limit
 * lifted so the load never meets a 429. Whisper's modules are imported on call, not at the
 * top, so a Koa baseline child that imports this file never loads them (PGlite, argon2,
 * knex…) and its RSS stays that of a bare Koa app.
 */
export interface BenchWhisperOptions {
  dataDir?: string;
  databaseUrl?: string;
  /** WHISPER_CACHE_FACTOR for the server (0: caches off, the baseline of a cache comparison). */
  cacheFactor?: number;
}

export async function startBenchWhisper(opts: BenchWhisperOptions): Promise<{ url: string; close(): Promise<void> }> {
  if (!opts.dataDir) throw new Error('whisper needs a dataDir');
  const { buildConfig, uniformRateLimits } = await import('../../homeserver/config.ts');
  const { createLogger } = await import('../../homeserver/logging.ts');
  const { startHomeserver } = await import('../../homeserver/main.ts');
  const config = buildConfig({
    port: 0,
    host: '127.0.0.1',
    dataDir: opts.dataDir,
    databaseUrl: opts.databaseUrl,
    serverName: 'whisper.bench',
    registration: 'open',
    logLevel: 'silent',
    rateLimits: uniformRateLimits({ points: 10_000_000, durationSec: 60 }),
    ...(opts.cacheFactor !== undefined ? { cacheFactor: opts.cacheFactor } : {}),
  });
  const hs = await startHomeserver(config, createLogger('silent'));
  return { url: hs.url, close: () => hs.close() };
}
