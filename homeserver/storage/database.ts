/**
 * Opens the database: PostgreSQL through `pg` when a URL is given, otherwise the embedded
 * PGlite in the data dir (one process only, guarded by a lock), and runs the migrations.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import { PgliteProcessClient } from './pgliteClient.ts';
import { PgliteProcess } from './pgliteProcess.ts';
import lockfile from 'proper-lockfile';
import { migrations } from '../../migrations/index.ts';
import { pgliteNotifications, postgresNotifications, type DbNotifications } from './notifications.ts';

export type Db = Knex;
/** Anything that can run a query: the database or a transaction. */
export type Queryable = Knex | Knex.Transaction;

export interface DatabaseOptions {
  /** postgres:// URL; without it the embedded PGlite is used. */
  databaseUrl?: string;
  /** PGlite lives in `<dataDir>/pglite`; ':memory:' keeps it in memory (tests). */
  dataDir: string;
  /**
   * ':memory:' only: start as a copy of this file (written by Database.dumpTo) instead of a
   * new database. PGlite's initdb takes about 2 s; a copy starts in about 0.3 s, and test
   * runs start dozens of servers.
   */
  memoryTemplate?: string;
}

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  notifications: DbNotifications;
  /** PGlite's child process (benchmarks count its CPU and memory). */
  childPid?: number;
  /** PGlite only: writes the database's files to `file`, for `memoryTemplate`. */
  dumpTo?(file: string): Promise<void>;
  close(): Promise<void>;
}

export class DataDirLockedError extends Error {}

/** How long a crashed holder's lock stays in force (it is refreshed every half of this). */
const LOCK_STALE_MS = 5000;

/**
 * PGlite's Postgres defaults to 128 MB of shared buffers, most of it resident from start.
 * A friends' server's working set is far smaller; 32 MB keeps idle memory down by ~130 MB.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=32MB', '-c', 'wal_buffers=1MB'];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations.find(([n]) => n === name)![1],
};

async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  mkdirSync(dir, { recursive: true });
  try {
    return await lockfile.lock(dir, {
      lockfilePath: path.join(dir, 'whisper.lock'),
      stale: LOCK_STALE_MS,
      update: LOCK_STALE_MS / 2,
      realpath: false,
      onCompromised: (err) => {
        // Another process took the data dir over: continuing would corrupt it.
        console.error(`fatal: lost the lock on ${dir}: ${err.message}`);
        process.exit(1);
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new DataDirLockedError(
        `the data directory ${dir} is in use by another Whisper process. ` +
          'Stop it first, or use a different WHISPER_DATA_DIR (or DATABASE_URL for a shared PostgreSQL).',
      );
    }
    throw err;
  }
}

/** How long closing waits for statements still queued or running (work a finished request left behind). */
const DRAIN_MS = 5000;

/**
 * Resolves once no statement is queued for a connection or running, or after DRAIN_MS:
 * destroying the pool aborts what is still queued, and work the last requests started in the
 * background (a device's last-seen time, an audit line) would be lost.
 */
async function drained(db: Db): Promise<void> {
  const pool = (db.client as { pool?: { numUsed(): number; numPendingAcquires(): number } }).pool;
  const until = Date.now() + DRAIN_MS;
  while (pool && (pool.numUsed() > 0 || pool.numPendingAcquires() > 0) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs PGlite's one-time initdb in a child process (see pgliteInit.ts). */
async function initPgliteDir(dir: string, startParams: string[]): Promise<void> {
  if (existsSync(path.join(dir, 'PG_VERSION'))) return;
  const script = path.join(import.meta.dirname, 'pgliteInit.ts');
  await promisify(execFile)(process.execPath, [script, dir, JSON.stringify(startParams)]);
}

export async function openDatabase(opts: DatabaseOptions, onError: (err: Error) => void = () => {}): Promise<Database> {
  if (opts.databaseUrl) {
    const db = knexFactory({
      client: 'pg',
      connection: opts.databaseUrl,
      pool: { min: 0, max: 10 },
    });
    await migrate(db);
    const notifications = postgresNotifications(opts.databaseUrl, onError);
    return {
      db,
      kind: 'postgres',
      notifications,
      close: async () => {
        await notifications.close();
        await drained(db);
        await db.destroy();
      },
    };
  }

  const inMemory = opts.dataDir === ':memory:';
  const release = inMemory ? async () => {} : await lockDataDir(opts.dataDir);
  try {
    const pgliteDir = inMemory ? undefined : path.join(opts.dataDir, 'pglite');
    const startParams = [...(PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams, ...PGLITE_SETTINGS];
    if (pgliteDir) await initPgliteDir(pgliteDir, startParams);
    const loadDump = inMemory ? opts.memoryTemplate : undefined;
    const child = await PgliteProcess.start({ dataDir: pgliteDir, loadDump, startParams, onError });
    const db = knexFactory({
      client: PgliteProcessClient as unknown as typeof Knex.Client,
      dialect: 'postgres',
      connection: { process: child } as unknown as Knex.StaticConnectionConfig,
    });
    try {
      await migrate(db);
    } catch (err) {
      await db.destroy();
      await child.close();
      throw err;
    }
    return {
      db,
      kind: 'pglite',
      notifications: pgliteNotifications(child),
      childPid: child.pid,
      dumpTo: (file) => child.dumpTo(file),
      close: async () => {
        await drained(db);
        await db.destroy();
        await child.close();
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}

/** Runs pending migrations; concurrent starts against one PostgreSQL are serialized by knex's lock. */
export async function migrate(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

/** Undoes every migration (tests prove the schema can go down and up again). */
export async function rollbackAll(db: Db): Promise<void> {
  await db.migrate.rollback({ migrationSource }, true);
}
