/**
 * The server's side of the embedded PGlite, which runs in a child process (pgliteChild.ts):
 * statements go out as messages tagged with a session, results and notifications come back.
 *
 * If the child dies, what it was running fails, the sessions that knew it are dead (a
 * transaction must not go on in a new backend as autocommit statements), listeners hear a
 * gap, and a new child opens the same data directory (an in-memory database is gone for good).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Results } from '@electric-sql/pglite';
import { errorFrom, type PgliteReply, type PgliteRequest } from './pgliteProtocol.ts';

export interface PgliteProcessOptions {
  /** The PGlite directory; undefined keeps the database in the child's memory (tests). */
  dataDir: string | undefined;
  /** In memory only: start as a copy of this dump (dumpTo's file) instead of a new database. */
  loadDump?: string;
  startParams: string[];
  /** Something went wrong that no caller will hear of (the child died). */
  onError?: (err: Error) => void;
}

export interface NotificationListener {
  onMessage(payload: string): void;
  /** Notifications were lost (`listening` false) or are heard again (`listening` true). */
  onGap(listening: boolean): void;
}

interface Pending {
  resolve(value: Results): void;
  reject(err: Error): void;
}

/** How long a dead child's successor waits before it starts, by attempt. */
const RESTART_DELAYS_MS = [0, 500, 2000, 5000];

export class PgliteProcess {
  private child!: ChildProcess;
  /** Bumped at each new child: a session from an earlier one is dead. */
  private generation = 0;
  private ready!: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, NotificationListener[]>();
  private nextId = 1;
  private nextSession = 1;
  private restarts = 0;
  /** Set once the first child is ready: a database that never opened is not restarted. */
  private started = false;
  private closing = false;

  private readonly opts: PgliteProcessOptions;

  private constructor(opts: PgliteProcessOptions) {
    this.opts = opts;
  }

  static async start(opts: PgliteProcessOptions): Promise<PgliteProcess> {
    const p = new PgliteProcess(opts);
    p.spawn();
    await p.ready;
    p.started = true;
    return p;
  }

  /** The child's process id (benchmarks count its CPU and memory). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** A new session: statements it sends run in order, and its transaction has the backend alone. */
  openSession(): PgliteSession {
    return new PgliteSession(this, this.nextSession++, this.generation);
  }

  /** False once the child this session was opened on has died. */
  isCurrent(session: PgliteSession): boolean {
    return session.generation === this.generation;
  }

  /** @internal (PgliteSession) */
  async query(session: PgliteSession, sql: string, params: unknown[] = [], options?: Record<string, unknown>): Promise<Results> {
    await this.ready;
    if (session.generation !== this.generation) throw new Error('the embedded database restarted: this session is gone');
    return this.request((id) => ({ kind: 'query', id, session: session.id, sql, params, options }));
  }

  /** @internal (PgliteSession) */
  endSession(session: PgliteSession): void {
    if (session.generation === this.generation && this.child.connected) this.post({ kind: 'endSession', session: session.id });
  }

  async listen(channel: string, listener: NotificationListener): Promise<void> {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    const first = !this.listeners.has(channel);
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), listener]);
    if (first) {
      await this.ready;
      await this.request((id) => ({ kind: 'listen', id, channel }));
    }
  }

  /** Writes the database's files to `file`, which `loadDump` can start a new child from. */
  async dumpTo(file: string): Promise<void> {
    await this.ready;
    await this.request((id) => ({ kind: 'dump', id, file }));
  }

  /** Waits for what is queued, then closes the database and ends the child. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const child = this.child;
    if (child.exitCode !== null || !child.connected) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.send({ kind: 'close' } satisfies PgliteRequest);
    });
  }

  private spawn(): void {
    const generation = ++this.generation;
    const child = fork(path.join(import.meta.dirname, 'pgliteChild.ts'), [], {
      serialization: 'advanced',
      // Not the server's flags (a profiler, an inspector port): the child is a plain Node.
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    this.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (reply: PgliteReply) => {
        if (reply.kind === 'ready') resolve();
        else if (reply.kind === 'failed') reject(errorFrom(reply.error));
        else this.onReply(reply);
      });
      child.once('exit', (code, signal) => {
        reject(new Error(`the embedded database process exited (${signal ?? code}) before it was ready`));
        this.onExit(generation, code, signal);
      });
    });
    // A caller that never awaits `ready` (the child died first) must not crash the server.
    this.ready.catch(() => {});
    child.send({ kind: 'open', dataDir: this.opts.dataDir, startParams: this.opts.startParams, loadDump: this.opts.loadDump } satisfies PgliteRequest);
  }

  private onReply(reply: PgliteReply): void {
    if (reply.kind === 'result' || reply.kind === 'error') {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.kind === 'result') p.resolve(reply.result as Results);
      else p.reject(errorFrom(reply.error));
    } else if (reply.kind === 'notifications') {
      // After the turn that resolved the statement which sent them: its caller goes on first.
      setImmediate(() => {
        for (const [channel, payload] of reply.list) for (const l of this.listeners.get(channel) ?? []) l.onMessage(payload);
      });
    }
  }

  private onExit(generation: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (generation !== this.generation) return;
    const gone = new Error(`the embedded database process exited (${signal ?? code})`);
    for (const p of this.pending.values()) p.reject(gone);
    this.pending.clear();
    if (this.closing || !this.started) return;
    this.opts.onError?.(gone);
    for (const ls of this.listeners.values()) for (const l of ls) l.onGap(false);
    // An in-memory database died with its child: a new one would be empty, not the same.
    if (this.opts.dataDir === undefined) return;
    const delay = RESTART_DELAYS_MS[Math.min(this.restarts++, RESTART_DELAYS_MS.length - 1)];
    setTimeout(() => this.restart(), delay).unref();
  }

  private restart(): void {
    if (this.closing) return;
    this.spawn();
    this.ready.then(
      async () => {
        this.restarts = 0;
        for (const channel of this.listeners.keys()) await this.request((id) => ({ kind: 'listen', id, channel }));
        for (const ls of this.listeners.values()) for (const l of ls) l.onGap(true);
      },
      (err: Error) => this.opts.onError?.(err),
    );
  }

  private request(make: (id: number) => PgliteRequest): Promise<Results> {
    const id = this.nextId++;
    return new Promise<Results>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.post(make(id))) {
        this.pending.delete(id);
        reject(new Error('the embedded database process is not running'));
      }
    });
  }

  private post(msg: PgliteRequest): boolean {
    if (!this.child.connected) return false;
    this.child.send(msg);
    return true;
  }
}

/** One of the parent's sessions over the child's backend: what knex's pool holds as a connection. */
export class PgliteSession {
  private readonly owner: PgliteProcess;
  readonly id: number;
  readonly generation: number;

  constructor(owner: PgliteProcess, id: number, generation: number) {
    this.owner = owner;
    this.id = id;
    this.generation = generation;
  }

  query(sql: string, params?: unknown[], options?: Record<string, unknown>): Promise<Results> {
    return this.owner.query(this, sql, params, options);
  }

  end(): void {
    this.owner.endSession(this);
  }
}
