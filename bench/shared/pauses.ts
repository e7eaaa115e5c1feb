/**
 * A process's own pauses, counted from one reading to the next: event-loop delay, and
 * garbage-collection pauses by kind. Used by the servers under test and by the load
 * generator, so a latency spike can be told apart: the server stalled, the measuring side
 * stalled, or both (the machine).
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface Pauses {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  majorGcCount: number;
  /** Total pause per kind (minor = scavenge, major = mark-compact, incremental = marking steps, weakcb = weak callbacks). */
  gcMsByKind: Record<string, number>;
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

const empty = () => ({ gcCount: 0, gcTotalMs: 0, gcMaxMs: 0, majorGcCount: 0, gcMsByKind: {} as Record<string, number> });

export interface PauseMeter {
  /** The pauses since the last read (or the start), and starts counting again. */
  read(): Pauses;
  /** Stops measuring: a meter per run would otherwise keep observing for the process's life. */
  stop(): void;
}

/** Starts measuring. */
export function pauseMeter(): PauseMeter {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let gc = empty();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      gc.gcCount++;
      gc.gcTotalMs += e.duration;
      gc.gcMaxMs = Math.max(gc.gcMaxMs, e.duration);
      gc.gcMsByKind[kind] = (gc.gcMsByKind[kind] ?? 0) + e.duration;
      if (kind === 'major') gc.majorGcCount++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    read() {
      const out = { loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6, ...gc };
      loop.reset();
      gc = empty();
      return out;
    },
    stop() {
      observer.disconnect();
      loop.disable();
    },
  };
}
