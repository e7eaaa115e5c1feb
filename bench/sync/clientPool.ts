/**
 * The long-polling clients, spread over worker threads (clientWorker.ts): what arrives is
 * put in the ledger here, and the workers' poll stats are summed into one PollStats.
 */
import { Worker } from 'node:worker_threads';
import type { Ledger, PollStats } from './clients.ts';
import { newPollStats } from './clients.ts';
import type { WorkerClient, WorkerReport, WorkerSetup } from './clientWorker.ts';
import type { Pauses } from '../shared/pauses.ts';

const WORKER = new URL('./clientWorker.ts', import.meta.url);

export class ClientPool {
  /** The workers' latest stats, summed (at most one flush interval behind). */
  readonly stats: PollStats = newPollStats();
  private readonly workers: Worker[] = [];
  private readonly latest: PollStats[] = [];
  private readonly stoppedAll: Array<Promise<void>> = [];
  /** Each thread's pauses from mark() to the stop (filled in by stop). */
  readonly threadPauses: Pauses[] = [];

  constructor(kind: WorkerSetup['kind'], url: string, timeoutMs: number, clients: WorkerClient[], threads: number, ledger?: Ledger) {
    const n = Math.max(1, Math.min(threads, clients.length));
    for (let w = 0; w < n; w++) {
      const setup: WorkerSetup = { kind, url, timeoutMs, parentTimeOrigin: performance.timeOrigin, clients: clients.filter((_, i) => i % n === w) };
      const worker = new Worker(WORKER, { workerData: setup });
      this.latest.push(newPollStats());
      this.stoppedAll.push(
        new Promise<void>((resolve, reject) => {
          worker.on('message', (report: WorkerReport) => {
            if (report.type === 'stopped') {
              this.threadPauses.push(report.pauses);
              return resolve();
            }
            for (const a of report.arrivals) ledger?.recordArrival(a);
            for (const [user, entry] of report.syncLog) ledger?.logSync(user, entry);
            this.latest[w] = report.stats;
            this.sum();
          });
          worker.once('error', reject);
          worker.once('exit', () => resolve());
        }),
      );
      this.workers.push(worker);
    }
  }

  /** Starts the threads' pause measurement over (at the start of the load). */
  mark(): void {
    for (const w of this.workers) w.postMessage({ type: 'mark' });
  }

  /** Stops every client (each ends when its request in flight is cut) and waits for the last reports. */
  async stop(): Promise<void> {
    for (const w of this.workers) w.postMessage({ type: 'stop' });
    await Promise.all(this.stoppedAll);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private sum(): void {
    const s = this.stats;
    const all = this.latest;
    const total = (f: (p: PollStats) => number) => all.reduce((n, p) => n + f(p), 0);
    s.requests = total((p) => p.requests);
    s.responses = total((p) => p.responses);
    s.responsesWithMessages = total((p) => p.responsesWithMessages);
    s.messageEvents = total((p) => p.messageEvents);
    s.limitedSyncs = total((p) => p.limitedSyncs);
    s.gapFillRequests = total((p) => p.gapFillRequests);
    for (const k of Object.keys(s.errors) as Array<keyof PollStats['errors']>) s.errors[k] = total((p) => p.errors[k]);
    s.errorSamples = all.flatMap((p) => p.errorSamples).slice(0, 20);
  }
}
