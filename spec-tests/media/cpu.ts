/**
 * CPU use of the processes in a media run (Chromium's, Janus, this node), read from /proc:
 * what limits frame rates on a small shared box is nearly always someone's CPU.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface Sample {
  at: number;
  ticks: Map<number, { ticks: number; label: string }>;
}

function labelOf(pid: number): string | undefined {
  let cmd: string;
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
  if (pid === process.pid) return 'node (server + test)';
  if (/(^|\/)janus\s/.test(cmd)) return 'janus';
  if (!/chromium/.test(cmd)) return undefined;
  const type = /--type=([a-z-]+)/.exec(cmd)?.[1];
  if (!type) return 'chromium browser';
  if (type === 'utility') return `chromium utility ${/--utility-sub-type=([\w.]+)/.exec(cmd)?.[1] ?? ''}`.trim();
  return `chromium ${type}`;
}

function ticksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}

/** The parent of each process (from /proc/<pid>/stat). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      out.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Ticks of the media processes, by pid. With `root`, only that process and those it started
 * (its Chromium and Janus): another user's browsers on a shared box are not counted.
 */
export function sampleCpu(root?: number): Sample {
  const ticks = new Map<number, { ticks: number; label: string }>();
  const parentOf = root === undefined ? undefined : parents();
  const under = (pid: number) => {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; p = parentOf!.get(p), hops++) if (p === root) return true;
    return false;
  };
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    if (parentOf && !under(pid)) continue;
    const label = labelOf(pid);
    if (!label) continue;
    const t = ticksOf(pid);
    if (t !== undefined) ticks.set(pid, { ticks: t, label });
  }
  return { at: Date.now(), ticks };
}

/** Percent of one core per process between two samples, labelled (renderers numbered by pid). */
export function cpuBetween(a: Sample, b: Sample): Record<string, number> {
  const seconds = (b.at - a.at) / 1000;
  const out: Record<string, number> = {};
  for (const [pid, { ticks, label }] of b.ticks) {
    const before = a.ticks.get(pid)?.ticks ?? 0;
    const pct = Math.round(((ticks - before) / TICKS_PER_SECOND / seconds) * 1000) / 10;
    if (pct < 1) continue;
    const key = label === 'chromium renderer' ? `${label} ${pid}` : label;
    out[key] = (out[key] ?? 0) + pct;
  }
  return out;
}

/** Whole-machine busy share (all cores, all users) between two /proc/stat readings. */
export function machineBusy(): () => number {
  const read = () => {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const idle = f[3] + f[4];
    return { idle, total: f.reduce((x, y) => x + y, 0) };
  };
  const a = read();
  return () => {
    const b = read();
    return Math.round((1 - (b.idle - a.idle) / (b.total - a.total)) * 1000) / 10;
  };
}
