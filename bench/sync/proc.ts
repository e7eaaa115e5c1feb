/**
 * Processes' CPU and memory from /proc (Linux), for what process.cpuUsage() cannot see: a
 * local PostgreSQL cluster's, and a server's own child processes' (PGlite runs in one).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every mainstream Linux. */
const CLOCK_TICKS_PER_SEC = 100;

/** One process as /proc/<pid>/stat tells it: times in clock ticks, resident set in pages. */
interface ProcStat {
  pid: number;
  command: string;
  ppid: number;
  ticks: number;
  /** Times of its children it has reaped (cutime+cstime). */
  reapedTicks: number;
  rssPages: number;
}

/** Every process's stat line, read now; null on machines without /proc. */
function readProcStats(): ProcStat[] | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  const out: ProcStat[] = [];
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    // Fields after the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17) … rss(24).
    const f = stat.slice(close + 2).split(' ');
    out.push({
      pid: Number(pid),
      command: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(f[1]),
      ticks: Number(f[11]) + Number(f[12]),
      reapedTicks: Number(f[13]) + Number(f[14]),
      rssPages: Number(f[21]),
    });
  }
  return out;
}

/**
 * CPU time of a local PostgreSQL cluster: the sum of user+system time of every process named
 * "postgres", plus the time of the ones the postmaster has already reaped, so backends that
 * come and go during a window still count. Machine-wide: any other client of the same
 * cluster counts too.
 */
export function postgresCpuSeconds(): number | null {
  const stats = readProcStats();
  const postgres = stats?.filter((p) => p.command === 'postgres') ?? [];
  if (postgres.length === 0) return null;
  const pids = new Set(postgres.map((p) => p.pid));
  let ticks = 0;
  for (const p of postgres) {
    ticks += p.ticks;
    // The postmaster (its parent is not postgres): add what its reaped children used.
    if (!pids.has(p.ppid)) ticks += p.reapedTicks;
  }
  return ticks / CLOCK_TICKS_PER_SEC;
}

export function isLocalDatabase(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1' || host === '';
  } catch {
    return false;
  }
}

/** Page size for /proc's resident-set counts; 4 KiB on x86_64 and most arm64 kernels. */
const PAGE_BYTES = 4096;

/** Processes below `rootPid`, with their stat lines. */
function descendants(rootPid: number): ProcStat[] {
  const stats = readProcStats() ?? [];
  const parents = new Map(stats.map((p) => [p.pid, p.ppid]));
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === rootPid) return true;
    return false;
  };
  return stats.filter((p) => below(p.pid));
}

/** The ids of every process below `rootPid` (the server's PGlite child, say). */
export function descendantPids(rootPid: number): number[] {
  return descendants(rootPid).map((p) => p.pid);
}

/**
 * CPU seconds (user+system) and resident bytes of every process below `rootPid`, from /proc.
 * Zero on machines without it.
 */
export function descendantsUsage(rootPid: number): { cpuSeconds: number; rssBytes: number } {
  let ticks = 0;
  let rssPages = 0;
  for (const p of descendants(rootPid)) {
    ticks += p.ticks;
    rssPages += p.rssPages;
  }
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SEC, rssBytes: rssPages * PAGE_BYTES };
}

/** The machine's CPU counters (/proc/stat, all cores), in clock ticks; null without /proc. */
export interface MachineTicks {
  busy: number;
  steal: number;
  total: number;
}

export function machineTicks(): MachineTicks | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = user + nice + system + irq + softirq;
    return { busy, steal: steal ?? 0, total: busy + idle + iowait + (steal ?? 0) };
  } catch {
    return null;
  }
}
