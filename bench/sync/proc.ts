/**
 * CPU time of a local PostgreSQL cluster, from /proc (Linux): the sum of user+system time of
 * every process named "postgres", plus the time of the ones the postmaster has already
 * reaped (its cutime+cstime), so backends that come and go during a window still count.
 * Machine-wide: any other client of the same cluster counts too.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every mainstream Linux. */
const CLOCK_TICKS_PER_SEC = 100;

export function postgresCpuSeconds(): number | null {
  let ticks = 0;
  let found = false;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (stat.slice(open + 1, close) !== 'postgres') continue;
    // Fields after the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    const f = stat.slice(close + 2).split(' ');
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    const ppid = Number(f[1]);
    ticks += utime + stime;
    // The postmaster (its parent is not postgres): add what its reaped children used.
    const parentIsPostgres = (() => {
      try {
        const p = readFileSync(`/proc/${ppid}/stat`, 'utf8');
        return p.slice(p.indexOf('(') + 1, p.lastIndexOf(')')) === 'postgres';
      } catch {
        return false;
      }
    })();
    if (!parentIsPostgres) ticks += Number(f[13]) + Number(f[14]);
    found = true;
  }
  return found ? ticks / CLOCK_TICKS_PER_SEC : null;
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

/**
 * CPU seconds (user+system) and resident bytes of every process below `rootPid` (the server's
 * PGlite child, say), from /proc. Empty on machines without it.
 */
export function descendantsUsage(rootPid: number): { cpuSeconds: number; rssBytes: number } {
  const parents = new Map<number, number>();
  const usage = new Map<number, { ticks: number; rssPages: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { cpuSeconds: 0, rssBytes: 0 };
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command: state(3) ppid(4) … utime(14) stime(15) … rss(24).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(pid), Number(f[1]));
    usage.set(Number(pid), { ticks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) });
  }
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === rootPid) return true;
    return false;
  };
  let ticks = 0;
  let rssPages = 0;
  for (const [pid, u] of usage) {
    if (!below(pid)) continue;
    ticks += u.ticks;
    rssPages += u.rssPages;
  }
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SEC, rssBytes: rssPages * PAGE_BYTES };
}
