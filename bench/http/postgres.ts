/** A throwaway PostgreSQL database for one benchmark target (as spec-tests/harness.ts does). */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function admin(adminUrl: string) {
  return knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
}

export async function createScratchDatabase(adminUrl: string): Promise<ScratchDatabase> {
  const name = `whisper_bench_${randomBytes(6).toString('hex')}`;
  const a = admin(adminUrl);
  try {
    await a.raw(`CREATE DATABASE ${name}`);
  } finally {
    await a.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      const d = admin(adminUrl);
      try {
        await d.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await d.destroy();
      }
    },
  };
}

/**
 * Where one benchmark target keeps its data: a temporary data dir, and on PostgreSQL a scratch
 * database. Both are removed by steps pushed onto `cleanups`.
 */
export async function targetStorage(
  backend: 'pglite' | 'postgres',
  prefix: string,
  cleanups: Array<() => Promise<void>>,
  log: (line: string) => void,
): Promise<{ dataDir: string; databaseUrl?: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  if (backend !== 'postgres') return { dataDir };
  const db = await createScratchDatabase(process.env.DATABASE_URL!);
  cleanups.push(() => db.drop());
  log(`created database ${db.name}`);
  return { dataDir, databaseUrl: db.url };
}
