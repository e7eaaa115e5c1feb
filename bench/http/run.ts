/**
 * `npm run bench`: HTTP benchmark of Whisper against a bare Koa app on the same machine.
 *
 * Each server runs in its own child process (serve.ts); autocannon and the sequential loops
 * run here, in the parent, so the load generator never shares the servers' event loop.
 * Progress goes to stderr; one JSON document goes to stdout at the end.
 *
 * Environment: BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1), BENCH_CONNECTIONS (50),
 * BENCH_LOGIN_N (20), BENCH_IDLE_MS (2000), DATABASE_URL (adds a PostgreSQL target).
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServerChild, type ServerChild } from './children.ts';
import { measureLoad, measureSequential, round, type LoadResult, type SequentialResult } from './load.ts';
import { login, register, whoami } from './matrix.ts';
import { targetStorage } from './postgres.ts';
import { runMain } from '../shared/runMain.ts';
import { envNumber, machineFacts } from '../shared/env.ts';

const settings = {
  seconds: envNumber('BENCH_SECONDS', 5, true),
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 1, true),
  connections: envNumber('BENCH_CONNECTIONS', 50, true),
  loginN: envNumber('BENCH_LOGIN_N', 20, true),
  idleMs: envNumber('BENCH_IDLE_MS', 2000, true),
};
const GOALS = { rpsRatioMin: 0.5, idleRssMbMax: 120 };

const log = (msg: string) => console.error(`[bench] ${msg}`);
const mb = (bytes: number) => round(bytes / (1024 * 1024), 1);
const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 3) : null);

/** Things to undo, newest first, whether the run succeeds or not. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop()!;
    await step().catch((err: unknown) => log(`cleanup step failed: ${(err as Error).message}`));
  }
}

function checkLoad(label: string, r: LoadResult): LoadResult {
  const line = `${label}: ${r.rps} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`;
  log(r.non2xx || r.errors ? `${line} — WARNING ${r.non2xx} non-2xx, ${r.errors} errors` : line);
  return r;
}

/** After start, let the child settle, then read its RSS after a GC. */
async function idleRss(child: ServerChild, label: string): Promise<{ idleRssMb: number; idleVmRssMb: number | null; idleHeapUsedMb: number }> {
  await sleep(settings.idleMs);
  const r = await child.rss();
  const out = { idleRssMb: mb(r.rss), idleVmRssMb: r.vmRss === null ? null : mb(r.vmRss), idleHeapUsedMb: mb(r.heapUsed) };
  log(`${label}: idle RSS ${out.idleRssMb} MB (heap ${out.idleHeapUsedMb} MB)`);
  return out;
}

async function startChild(kind: 'koa' | 'whisper', extra: { dataDir?: string; databaseUrl?: string } = {}): Promise<ServerChild> {
  const child = await startServerChild({ kind, ...extra });
  cleanups.push(() => child.stop());
  log(`${kind} child pid ${child.pid} listening on ${child.url}`);
  return child;
}

async function benchKoa() {
  const child = await startChild('koa');
  const memory = await idleRss(child, 'koa');
  const json = checkLoad('koa GET /json', await measureLoad({ ...settings, url: `${child.url}/json` }));
  await child.stop();
  return { json, ...memory };
}

interface WhisperResult {
  backend: 'pglite' | 'postgres';
  idleRssMb: number;
  idleVmRssMb: number | null;
  idleHeapUsedMb: number;
  versions: LoadResult;
  whoami: LoadResult;
  login: SequentialResult;
  whoamiSequential: SequentialResult;
}

async function benchWhisper(backend: 'pglite' | 'postgres'): Promise<WhisperResult> {
  const label = `whisper-${backend}`;
  const { dataDir, databaseUrl } = await targetStorage(backend, 'whisper-bench-', cleanups, (line) => log(`${label}: ${line}`));

  const child = await startChild('whisper', { dataDir, databaseUrl });
  const memory = await idleRss(child, label);
  const user = await register(child.url);
  log(`${label}: registered ${user.userId}`);

  const versions = checkLoad(`${label} GET /versions`, await measureLoad({ ...settings, url: `${child.url}/_matrix/client/versions` }));
  const who = checkLoad(
    `${label} GET /whoami`,
    await measureLoad({ ...settings, url: `${child.url}/_matrix/client/v3/account/whoami`, headers: { Authorization: `Bearer ${user.accessToken}` } }),
  );
  const loginSeq = await measureSequential(settings.loginN, () => login(child.url, user));
  log(`${label}: ${settings.loginN} sequential logins: p50 ${loginSeq.p50Ms} ms, p99 ${loginSeq.p99Ms} ms`);
  const whoamiSeq = await measureSequential(settings.loginN, () => whoami(child.url, user));
  log(`${label}: ${settings.loginN} sequential whoami: p50 ${whoamiSeq.p50Ms} ms, p99 ${whoamiSeq.p99Ms} ms`);

  await child.stop();
  return { backend, ...memory, versions, whoami: who, login: loginSeq, whoamiSequential: whoamiSeq };
}

async function main(): Promise<void> {
  log(`settings ${JSON.stringify(settings)}; ${os.cpus().length} CPUs, node ${process.version}`);
  const koa = await benchKoa();
  const backends: Array<'pglite' | 'postgres'> = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
  const results: Record<string, WhisperResult> = {};
  for (const backend of backends) results[`whisper-${backend}`] = await benchWhisper(backend);

  const ratios: Record<string, unknown> = {};
  const goals: Record<string, unknown> = { rpsRatioMin: GOALS.rpsRatioMin, idleRssMbMax: GOALS.idleRssMbMax };
  let allMet = true;
  for (const [name, r] of Object.entries(results)) {
    const versionsRps = ratio(r.versions.rps, koa.json.rps);
    const whoamiRps = ratio(r.whoami.rps, koa.json.rps);
    ratios[name] = {
      versions: { rps: versionsRps, p99: ratio(r.versions.p99Ms, koa.json.p99Ms) },
      whoami: { rps: whoamiRps, p99: ratio(r.whoami.p99Ms, koa.json.p99Ms) },
      loginP50OverWhoamiP50: ratio(r.login.p50Ms, r.whoamiSequential.p50Ms),
      loginP99OverWhoamiP99: ratio(r.login.p99Ms, r.whoamiSequential.p99Ms),
      idleRss: ratio(r.idleRssMb, koa.idleRssMb),
    };
    const clean = [r.versions, r.whoami].every((l) => l.non2xx === 0 && l.errors === 0);
    const checks = {
      versionsRpsRatio: { value: versionsRps, met: versionsRps !== null && versionsRps >= GOALS.rpsRatioMin },
      whoamiRpsRatio: { value: whoamiRps, met: whoamiRps !== null && whoamiRps >= GOALS.rpsRatioMin },
      idleRssMb: { value: r.idleRssMb, met: r.idleRssMb < GOALS.idleRssMbMax },
      allResponses2xx: clean,
    };
    allMet &&= clean && checks.versionsRpsRatio.met && checks.whoamiRpsRatio.met && checks.idleRssMb.met;
    goals[name] = checks;
  }
  goals.allMet = allMet;

  const report = {
    baseline: { name: 'koa GET /json', ...koa },
    results,
    ratios,
    goals,
    machine: machineFacts(),
    settings,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await runMain(main, cleanUp, log);
