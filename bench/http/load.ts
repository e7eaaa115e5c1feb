/**
 * Load generation, run in the parent process: autocannon for throughput, and a sequential
 * request loop for per-request latency (login is dominated by argon2, so it is timed alone).
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface LoadResult {
  /** Responses per second over the measured run (all statuses; see non2xx). */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
}

function cannon(opts: LoadOptions, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: opts.url,
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
    connections: opts.connections,
    duration: seconds,
  });
}

/** A short warm-up run (discarded), then the measured run. */
export async function measureLoad(opts: LoadOptions): Promise<LoadResult> {
  if (opts.warmupSeconds > 0) await cannon(opts, opts.warmupSeconds);
  const r = await cannon(opts, opts.seconds);
  return {
    rps: round(r.requests.total / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: round(r.latency.mean),
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: round(r.duration),
  };
}

export interface SequentialResult {
  n: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Calls `once` n times, one after another (after one untimed warm-up call), and reports
 * the latency distribution. `once` must throw on an unexpected response.
 */
export async function measureSequential(n: number, once: () => Promise<void>): Promise<SequentialResult> {
  await once();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return {
    n,
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(percentile(times, 99)),
    meanMs: round(times.reduce((a, b) => a + b, 0) / n),
    minMs: round(times[0]),
    maxMs: round(times[times.length - 1]),
  };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
