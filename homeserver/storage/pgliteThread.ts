/**
 * PGlite on a worker thread of its own. PGlite runs Postgres as WebAssembly, synchronously, on
 * whatever thread calls it: on the server's main thread every statement stalled every request
 * (event-loop delays of half a second under load) and left the machine's other cores idle.
 * Here the main thread hands each statement to the worker (pgliteWorker.ts) and goes on.
 *
 * `PGliteThread` offers what knex-pglite and the notifications use of a PGlite: `waitReady`,
 * `query`, `listen` and `close`. Results and errors cross by structured clone, so rows keep
 * their types (Date, BigInt, Uint8Array) and errors their Postgres fields (`code`, `detail`...).
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';

export interface PGliteThreadOptions {
  /** The database directory; undefined keeps the database in memory (tests). */
  dataDir?: string;
  startParams: string[];
}

/** Messages from the worker. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  /** The notifications one statement brought (a transaction's, at its commit), in order. */
  | { type: 'notify'; notices: Array<{ channel: string; payload: string }> }
  | { type: 'failed'; error: SerializedError };

/** Messages to the worker. */
export type ToWorker =
  | { type: 'query'; id: number; sql: string; params?: unknown[]; options?: unknown }
  | { type: 'listen'; id: number; channel: string }
  | { type: 'close'; id: number };

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** An error's message and own fields (structured clone keeps only an Error's message and stack). */
export interface SerializedError {
  message: string;
  fields: Record<string, unknown>;
}

export function serializeError(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const fields: Record<string, unknown> = { name: e.name };
  for (const [k, v] of Object.entries(e)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
  }
  return { message: e.message, fields };
}

function revive(s: SerializedError): Error {
  return Object.assign(new Error(s.message), s.fields);
}

export class PGliteThread {
  readonly waitReady: Promise<void>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private nextId = 1;
  /** Set once the worker can answer no more (it failed or exited): every call rejects with it. */
  private broken?: Error;

  constructor(opts: PGliteThreadOptions, onError: (err: Error) => void = () => {}) {
    this.worker = new Worker(path.join(import.meta.dirname, 'pgliteWorker.ts'), { workerData: opts });
    this.waitReady = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'notify') {
          // In one synchronous pass, as PGlite in this thread delivered them: every listener
          // hears a transaction's notifications before anything they wake can run.
          for (const { channel, payload } of msg.notices) for (const cb of this.listeners.get(channel) ?? []) cb(payload);
        }
        else if (msg.type === 'failed') {
          this.fail(revive(msg.error));
          reject(this.broken);
          onError(this.broken!);
        } else {
          const call = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.type === 'result') call?.resolve(msg.result);
          else call?.reject(revive(msg.error));
        }
      });
      const gone = (err: Error) => {
        this.fail(err);
        reject(err);
        onError(err);
      };
      this.worker.on('error', gone);
      this.worker.on('exit', (code) => {
        if (!this.broken) gone(new Error(`the PGlite worker exited (${code})`));
      });
    });
    // A failed start is reported to whoever awaits waitReady (knex, at its first query).
    this.waitReady.catch(() => {});
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: unknown): Promise<{ rows: T[]; affectedRows?: number; fields: unknown[] }> {
    return this.call({ type: 'query', sql, params, options }) as Promise<{ rows: T[]; affectedRows?: number; fields: unknown[] }>;
  }

  /** Calls `cb` with each notification on `channel` (after the sender's commit); returns the unlisten. */
  async listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.call({ type: 'listen', channel });
    }
    set.add(cb);
    return async () => {
      set.delete(cb);
    };
  }

  async close(): Promise<void> {
    if (!this.broken) {
      await this.call({ type: 'close' }).catch(() => {});
      this.broken = new Error('the database is closed');
    }
    await this.worker.terminate();
  }

  private call(msg: WithoutId<ToWorker>): Promise<unknown> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id } as ToWorker);
    });
  }

  private fail(err: Error): void {
    this.broken ??= err;
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
  }
}
