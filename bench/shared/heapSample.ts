/**
 * What a process allocates over a while and keeps past a young-generation collection: V8's
 * sampling heap profiler, counting also the objects a major collection freed meanwhile. Those
 * are the ones that made scavenges slow (copied, then promoted) and then died in the old
 * generation, which a profile of live objects alone does not show.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Samples this process's allocations for `ms` and writes the profile (.heapprofile, for DevTools) to `file`. */
export async function sampleHeap(ms: number, file: string): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true });
    await sleep(ms);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(file, JSON.stringify(profile));
  } finally {
    session.disconnect();
  }
}
