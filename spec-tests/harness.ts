/**
 * Starts a real Whisper server in-process on a random loopback port, with its own database:
 * a fresh in-memory PGlite, or a fresh PostgreSQL database when DATABASE_URL is set (the
 * suite then runs once per backend).
 */
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { buildConfig, uniformRateLimits, type Config, type ConfigInput } from '../homeserver/config.ts';
import { createLogger } from '../homeserver/logging.ts';
import { startHomeserver, type RunningHomeserver } from '../homeserver/main.ts';
import { openDatabase } from '../homeserver/storage/database.ts';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** Makes a fresh database and returns its URL (or PGlite's template) and how to drop it. */
  create(): Promise<{ databaseUrl?: string; memoryTemplate?: string; drop(): Promise<void> }>;
}

/**
 * A migrated, empty in-memory PGlite written to a file once per test process: each server's
 * database starts as a copy of it (0.3 s) rather than from PGlite's initdb (2-3 s). The
 * migrations still run from nothing once here, and migrations.test.ts tests them.
 */
let memoryTemplate: Promise<string> | undefined;
function pgliteTemplate(): Promise<string> {
  memoryTemplate ??= (async () => {
    const file = path.join(os.tmpdir(), `whisper-test-pglite-${process.pid}-${randomBytes(4).toString('hex')}.tar`);
    const database = await openDatabase({ dataDir: ':memory:' });
    try {
      await database.dumpTo!(file);
    } finally {
      await database.close();
    }
    process.once('exit', () => {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    });
    return file;
  })();
  return memoryTemplate;
}

const pglite: Backend = {
  name: 'pglite',
  create: async () => ({ databaseUrl: undefined, memoryTemplate: await pgliteTemplate(), drop: async () => {} }),
};

function postgres(adminUrl: string): Backend {
  return {
    name: 'postgres',
    async create() {
      const name = `whisper_test_${randomBytes(6).toString('hex')}`;
      const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
      await admin.raw(`CREATE DATABASE ${name}`);
      await admin.destroy();
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return {
        databaseUrl: url.toString(),
        async drop() {
          const a = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
          await a.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await a.destroy();
        },
      };
    },
  };
}

/** PGlite always; PostgreSQL too when DATABASE_URL names one. */
export function backends(): Backend[] {
  const url = process.env.DATABASE_URL;
  return url ? [pglite, postgres(url)] : [pglite];
}

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is (for malformed-input tests). */
  rawBody?: string | Buffer;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestUser {
  user_id: string;
  access_token: string;
  device_id: string;
  password: string;
}

/** Generous limits so ordinary tests never trip them; rate-limit tests set their own. */
const RELAXED_LIMITS = { points: 100_000, durationSec: 60 };

export class TestServer {
  readonly hs: RunningHomeserver;
  readonly logLines: string[];
  private readonly dropDb: () => Promise<void>;
  private counter = 0;

  constructor(hs: RunningHomeserver, logLines: string[], dropDb: () => Promise<void>) {
    this.hs = hs;
    this.logLines = logLines;
    this.dropDb = dropDb;
  }

  get url(): string {
    return this.hs.url;
  }

  get config(): Config {
    return this.hs.config;
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let body: string | Buffer | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(this.url + path, { method, headers, body: body as BodyInit | undefined });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: the test will see the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** Registers through the real UIA flow (dummy stage; token stage when given one). */
  async register(localpart?: string, opts: { password?: string; registrationToken?: string; extra?: Record<string, unknown> } = {}): Promise<TestUser> {
    const username = localpart ?? `user${++this.counter}_${randomBytes(3).toString('hex')}`;
    const password = opts.password ?? 'correct horse battery staple';
    const first = await this.request('POST', '/_matrix/client/v3/register', { body: { username, password, ...opts.extra } });
    if (first.status !== 401) throw new Error(`expected a UIA challenge, got ${first.status} ${JSON.stringify(first.body)}`);
    const stages: string[] = first.body.flows[0].stages;
    let session = first.body.session;
    let res = first;
    for (const stage of stages) {
      const auth: Record<string, unknown> = { type: stage, session };
      if (stage === 'm.login.registration_token') auth.token = opts.registrationToken;
      res = await this.request('POST', '/_matrix/client/v3/register', { body: { username, password, ...opts.extra, auth } });
      session = res.body.session ?? session;
    }
    if (res.status !== 200) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { ...res.body, password };
  }

  async close(): Promise<void> {
    await this.hs.close();
    await this.dropDb();
  }
}

/**
 * A test server's config on that database. Its own server key, so that a second server built
 * from this config (`{...a.config}`, a second process) shares it, as real processes must.
 */
export function testConfig(databaseUrl: string | undefined, overrides: Partial<ConfigInput> = {}): Config {
  return buildConfig({
    port: 0,
    host: '127.0.0.1',
    dataDir: ':memory:',
    serverName: 'whisper.test',
    databaseUrl,
    registration: 'open',
    logLevel: 'info',
    rateLimits: uniformRateLimits(RELAXED_LIMITS),
    secretKey: randomBytes(32).toString('hex'),
    ...overrides,
  });
}

export async function startTestServer(backend: Backend, overrides: Partial<ConfigInput> = {}): Promise<TestServer> {
  const db = await backend.create();
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const config = testConfig(db.databaseUrl, overrides);
  const logger = createLogger(config.logLevel, sink);
  const hs = await startHomeserver(config, logger, { memoryTemplate: db.memoryTemplate });
  return new TestServer(hs, logLines, db.drop);
}

/**
 * Declares a suite once per backend, each with its own server (started before, stopped
 * after): `describeServer('accounts', {}, (srv) => { it(..., () => srv().request(...)) })`.
 */
export function describeServer(
  title: string,
  overrides: Partial<ConfigInput>,
  body: (server: () => TestServer) => void,
): void {
  for (const backend of backends()) {
    describe(`${title} [${backend.name}]`, function () {
      this.timeout(60_000);
      let server: TestServer | undefined;
      before(async () => {
        server = await startTestServer(backend, overrides);
      });
      body(() => server!);
      // After the body's own after-hooks (e.g. stopping its clients), which mocha runs first.
      after(async () => {
        await server?.close();
      });
    });
  }
}
