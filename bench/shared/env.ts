import os from 'node:os';

/** Benchmark settings from the environment: a number, or the default when unset. */
export function envNumber(name: string, fallback: number, allowZero = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${raw}`);
  }
  return n;
}

/** The machine a benchmark ran on, for its JSON (load average now: how busy the box was). */
export function machineFacts(): { cpus: number; cpuModel: string | null; totalMemMb: number; loadAverage1m: number; node: string; platform: string } {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    totalMemMb: Math.round(os.totalmem() / (1024 * 1024)),
    loadAverage1m: Math.round(os.loadavg()[0] * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
