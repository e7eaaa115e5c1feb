/**
 * The processes a person runs: `npm start` (homeserver/cli/start.ts) and the admin CLI, as
 * real child processes on a real data dir: start-up line, config errors, the data-dir lock,
 * graceful shutdown with requests in flight, and admin commands with and without a server.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backends } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WHISPER_LOG_LEVEL: 'warn', ...extra };
  delete env.DATABASE_URL;
  if (extra.DATABASE_URL) env.DATABASE_URL = extra.DATABASE_URL;
  return env;
}

function runCli(script: string, args: string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, script), ...args], { cwd: ROOT, env: baseEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const admin = (args: string[], env: Record<string, string>, stdin?: string) => runCli('homeserver/cli/admin.ts', args, env, stdin);

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
}

/** `group`: in a process group of its own, as a terminal runs it (Ctrl-C signals the group). */
function startServer(env: Record<string, string>, group = false): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'homeserver/cli/start.ts')], {
      cwd: ROOT, env: baseEnv({ WHISPER_PORT: '0', ...env }), detached: group,
    });
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Whisper is running at (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1], exited, output: () => out });
    });
    child.stderr.on('data', (d) => (out += d));
    exited.then((code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

async function register(url: string, username: string, token?: string): Promise<Response> {
  const body = (auth?: object) => JSON.stringify({ username, password: 'password for cli', auth });
  const first = await fetch(`${url}/_matrix/client/v3/register`, { method: 'POST', body: body() });
  const { session, flows } = await first.json();
  const stage = flows[0].stages[0];
  return fetch(`${url}/_matrix/client/v3/register`, { method: 'POST', body: body({ type: stage, session, token }) });
}

describe('npm start and the admin CLI (embedded database)', function () {
  this.timeout(60_000);
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'whisper-cli-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a bad configuration with a message naming the variable', async () => {
    const run = await runCli('homeserver/cli/start.ts', [], { WHISPER_DATA_DIR: dataDir, WHISPER_PORT: 'eighty' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /WHISPER_PORT/);
    const reg = await runCli('homeserver/cli/start.ts', [], { WHISPER_DATA_DIR: dataDir, WHISPER_REGISTRATION: 'sometimes' });
    assert.equal(reg.code, 2);
    assert.match(reg.stderr, /WHISPER_REGISTRATION/);
  });

  it('admin commands work on a stopped server; the token is the last line', async () => {
    const env = { WHISPER_DATA_DIR: dataDir };
    const created = await admin(['registration-token', 'create', '--uses', '1'], env);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim().split('\n').at(-1)!;
    assert.match(token, /^[a-z0-9]{16}$/);
    const user = await admin(['user', 'create', 'root', '--admin'], env, 'a good password\n');
    assert.equal(user.code, 0, user.stderr);
    const list = await admin(['user', 'list'], env);
    assert.match(list.stdout, /@root:localhost\tadmin\tactive/);
    const bad = await admin(['user', 'create', 'Bad Name', '--password', 'whatever long'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Usernames may only contain/);
    const usage = await admin(['user', 'frobnicate'], env);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /unknown command/);
  });

  it('a running server: prints its URL, keeps its data dir to itself, and serves admin commands over its socket', async () => {
    const env = { WHISPER_DATA_DIR: dataDir };
    const server = await startServer(env);
    try {
      const versions = await fetch(`${server.url}/_matrix/client/versions`);
      assert.equal(versions.status, 200);

      const second = await runCli('homeserver/cli/start.ts', [], { ...env, WHISPER_PORT: '0' });
      assert.equal(second.code, 3);
      assert.match(second.stderr, /in use by another Whisper process/);

      assert.equal((await register(server.url, 'first')).status, 200, 'first account is free');
      const refused = await register(server.url, 'second', 'not-a-token');
      assert.equal(refused.status, 401);

      const created = await admin(['registration-token', 'create'], env);
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.trim().split('\n').at(-1)!;
      assert.equal((await register(server.url, 'second', token)).status, 200);

      const listed = await admin(['registration-token', 'list'], env);
      assert.match(listed.stdout, new RegExp(`${token}\\tactive\\t1\\t`));
      const revoke = await admin(['registration-token', 'revoke', token], env);
      assert.equal(revoke.code, 0);
      assert.equal((await register(server.url, 'third', token)).status, 401);

      const reset = await admin(['user', 'reset-password', 'second', '--password', 'brand new password'], env);
      assert.equal(reset.code, 0, reset.stderr);
      const login = await fetch(`${server.url}/_matrix/client/v3/login`, {
        method: 'POST', body: JSON.stringify({ type: 'm.login.password', user: 'second', password: 'brand new password' }),
      });
      assert.equal(login.status, 200);
      const deactivate = await admin(['user', 'deactivate', '@second:localhost'], env);
      assert.equal(deactivate.code, 0);
      const after = await fetch(`${server.url}/_matrix/client/v3/login`, {
        method: 'POST', body: JSON.stringify({ type: 'm.login.password', user: 'second', password: 'brand new password' }),
      });
      assert.equal(after.status, 403);
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });

  for (const how of ['SIGTERM', 'Ctrl-C'] as const) it(`${how} lets in-flight requests finish, closes cleanly, and the data survives a restart`, async () => {
    const env = { WHISPER_DATA_DIR: dataDir };
    // Ctrl-C: SIGINT to the whole process group, the embedded database's process included.
    let server = await startServer(env, how === 'Ctrl-C');
    assert.equal((await register(server.url, 'keeper')).status, 200);
    // Logins take argon2 time: several are still running when the signal arrives. Each is
    // fully sent (its own connection, 'finish') before the signal, so it is truly in flight.
    const sent: Promise<void>[] = [];
    const inflight = Array.from({ length: 8 }, () =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${server.url}/_matrix/client/v3/login`, { method: 'POST', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        sent.push(new Promise((r) => req.on('finish', () => r())));
        req.end(JSON.stringify({ type: 'm.login.password', user: 'keeper', password: 'password for cli' }));
      }),
    );
    await Promise.all(sent);
    await new Promise((r) => setTimeout(r, 20));
    if (how === 'Ctrl-C') process.kill(-server.child.pid!, 'SIGINT');
    else server.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(inflight), Array(8).fill(200));
    assert.equal(await server.exited, 0, server.output());

    server = await startServer(env);
    try {
      const login = await fetch(`${server.url}/_matrix/client/v3/login`, {
        method: 'POST', body: JSON.stringify({ type: 'm.login.password', user: 'keeper', password: 'password for cli' }),
      });
      assert.equal(login.status, 200, 'the account outlived the restart');
    } finally {
      server.child.kill('SIGINT');
      assert.equal(await server.exited, 0);
    }
  });
});

for (const backend of backends().filter((b) => b.name === 'postgres')) {
  describe('the admin CLI with DATABASE_URL', function () {
    this.timeout(60_000);
    it('runs commands directly against PostgreSQL', async () => {
      const db = await backend.create();
      // The server key and media still live in the data dir on PostgreSQL: its own, not the checkout's ./data.
      const dataDir = mkdtempSync(path.join(tmpdir(), 'whisper-cli-pg-'));
      try {
        const env = { DATABASE_URL: db.databaseUrl!, WHISPER_SERVER_NAME: 'pg.test', WHISPER_DATA_DIR: dataDir };
        const created = await admin(['user', 'create', 'pat', '--password', 'postgres password'], env);
        assert.equal(created.code, 0, created.stderr);
        const token = await admin(['registration-token', 'create', '--expires-in-days', '7'], env);
        assert.equal(token.code, 0, token.stderr);
        const list = await admin(['user', 'list'], env);
        assert.match(list.stdout, /@pat:pg\.test/);
      } finally {
        await db.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
