/** The server child's resident memory, read from /proc while it works (Linux). */
import { readFileSync } from 'node:fs';

export function vmRssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples the pid's RSS every `everyMs` until stopped; returns the highest seen. */
export function sampleRss(pid: number, everyMs = 20): { stop(): number | null } {
  let max: number | null = vmRssBytes(pid);
  const timer = setInterval(() => {
    const rss = vmRssBytes(pid);
    if (rss !== null) max = Math.max(max ?? 0, rss);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = vmRssBytes(pid);
      return last === null ? max : Math.max(max ?? 0, last);
    },
  };
}
