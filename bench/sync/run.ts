/**
 * `npm run bench:sync`: message delivery through /sync under load.
 *
 * 1,000 long-polling clients (500 DMs, plus 10 groups of 20 made of the first 200 users),
 * 200 messages/s for BENCH_SECONDS, open loop: send→sync delivery latency per (message,
 * recipient), every message checked received exactly once by every recipient, server CPU and
 * RSS; then the cost of 1,000 idle long-polls against a bare Koa long-poll endpoint.
 *
 * Each server runs in its own child process (serve.ts); the clients and the sender run here,
 * in the parent, on the same machine (2 cores: the load generator competes with the server,
 * which is the setup the benchmark asks for; its own CPU use is reported). Progress goes to
 * stderr; one JSON document goes to stdout at the end.
 *
 * Environment: BENCH_SECONDS (60), BENCH_RATE (200 messages/s), BENCH_CLIENTS (1000),
 * BENCH_GROUPS (10), BENCH_GROUP_SIZE (20), BENCH_IDLE_SECONDS (10), BENCH_DRAIN_SECONDS
 * (10), BENCH_MAX_BACKLOG_SECONDS (600: how long, after the last message is issued, sends
 * still queued in an overloaded server may take before counting as errors), BENCH_POLL_TIMEOUT_MS (30000), BENCH_TIMELINE_LIMIT (50), BENCH_SEED (1),
 * BENCH_REGISTER_CONCURRENCY (8), BENCH_SETUP_CONCURRENCY (16), BENCH_SEND_CONNECTIONS (100:
 * the senders' keep-alive connections; a send issued while all are busy waits in the load
 * generator, and that wait counts in its latency, which runs from the scheduled issue),
 * DATABASE_URL (adds a
 * PostgreSQL run on a scratch database it creates and drops), BENCH_CACHE_BASELINE (1: also
 * runs PGlite with the server's in-memory caches off, WHISPER_CACHE_FACTOR=0, and reports the
 * cached run's figures against it; 0 skips it), BENCH_BACKENDS (pglite,postgres: which to run),
 * BENCH_HEAP_SAMPLE_DIR (a folder: from 10 s into the load, 8 s of allocation sampling of the
 * server and of the load generator, written there as <run>-server.heapprofile and
 * <run>-loadgen.heapprofile, with the objects later freed by a major GC: what gets promoted).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, round } from '../http/load.ts';
import { targetStorage } from '../http/postgres.ts';
import { startServerChild, vmRssOf, type ServerChild } from './children.ts';
import { KoaPoller, Ledger, newPollStats, SyncPoller, type PollStats, type Poller } from './clients.ts';
import { JsonClient, mapLimit } from './http.ts';
import { descendantPids, isLocalDatabase, machineTicks, postgresCpuSeconds, type MachineTicks } from './proc.ts';
import { pauseMeter } from '../shared/pauses.ts';
import { sampleHeap } from '../shared/heapSample.ts';
import { buildPopulation, type Population, type Room } from './setup.ts';
import { planMessages, prng, startSending } from './traffic.ts';
import type { StatsReply } from './serve.ts';
import { runMain } from '../shared/runMain.ts';
import { envNumber, machineFacts } from '../shared/env.ts';

const settings = {
  seconds: envNumber('BENCH_SECONDS', 60, true),
  ratePerSec: envNumber('BENCH_RATE', 200, true),
  clients: envNumber('BENCH_CLIENTS', 1000, true),
  groups: envNumber('BENCH_GROUPS', 10, true),
  groupSize: envNumber('BENCH_GROUP_SIZE', 20, true),
  idleSeconds: envNumber('BENCH_IDLE_SECONDS', 10, true),
  drainSeconds: envNumber('BENCH_DRAIN_SECONDS', 10, true),
  maxBacklogSeconds: envNumber('BENCH_MAX_BACKLOG_SECONDS', 600, true),
  pollTimeoutMs: envNumber('BENCH_POLL_TIMEOUT_MS', 30_000, true),
  timelineLimit: envNumber('BENCH_TIMELINE_LIMIT', 50, true),
  seed: envNumber('BENCH_SEED', 1, true),
  registerConcurrency: envNumber('BENCH_REGISTER_CONCURRENCY', 8, true),
  setupConcurrency: envNumber('BENCH_SETUP_CONCURRENCY', 16, true),
  sendConnections: envNumber('BENCH_SEND_CONNECTIONS', 100, true),
  cacheBaseline: envNumber('BENCH_CACHE_BASELINE', 1, true) > 0,
  /** BENCH_BACKENDS: a comma-separated subset of pglite,postgres (default: every one available). */
  backends: process.env.BENCH_BACKENDS?.split(',').map((b) => b.trim()),
};
/** After the long-polls start, before measuring anything idle. */
const SETTLE_MS = 3000;
/** When messages are still missing after the drain, how much longer to look for late ones. */
const LATE_CHECK_MS = 10_000;
const SAMPLES = 10;
const GOALS = { p99Ms: 50, lost: 0, duplicated: 0 };

const log = (msg: string) => console.error(`[bench:sync] ${msg}`);
const heapSampleDir = process.env.BENCH_HEAP_SAMPLE_DIR;
const HEAP_SAMPLE_AFTER_MS = 10_000;
const HEAP_SAMPLE_MS = 8_000;

/** The server's and this process's allocation samples over the same seconds of load. */
async function sampleHeaps(child: ServerChild, dir: string, label: string): Promise<void> {
  await sleep(HEAP_SAMPLE_AFTER_MS);
  mkdirSync(dir, { recursive: true });
  const files = [path.join(dir, `${label}-server.heapprofile`), path.join(dir, `${label}-loadgen.heapprofile`)];
  await Promise.all([child.sampleHeap(HEAP_SAMPLE_MS, files[0]), sampleHeap(HEAP_SAMPLE_MS, files[1])]);
  log(`heap samples written: ${files.join(', ')}`);
}

/** Which server code was measured: the commit, and whether server files differed from it. */
function codeVersion(): { commit: string | null; serverFilesModified: boolean | null } {
  const git = (args: string[]) => execFileSync('git', args, { cwd: path.dirname(new URL(import.meta.url).pathname), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return { commit: git(['rev-parse', 'HEAD']), serverFilesModified: git(['status', '--porcelain', '--', '../../homeserver', '../../migrations']) !== '' };
  } catch {
    return { commit: null, serverFilesModified: null };
  }
}
const mb = (bytes: number) => round(bytes / (1024 * 1024), 1);
/** The server's CPU, with its database child's (PGlite's process) when it has one. */
const cpuSecondsOf = (s: StatsReply) => (s.cpuUserUs + s.cpuSystemUs + s.childCpuUs) / 1e6;

/** Things to undo, newest first, whether the run succeeds or not. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop()!;
    await step().catch((err: unknown) => log(`cleanup step failed: ${(err as Error).message}`));
  }
}

async function startChild(kind: 'whisper' | 'koa-longpoll', extra: { dataDir?: string; databaseUrl?: string; cacheFactor?: number } = {}): Promise<ServerChild> {
  const child = await startServerChild({ kind, ...extra });
  cleanups.push(() => child.stop());
  log(`${kind} child pid ${child.pid} listening on ${child.url}`);
  return child;
}

function latencySummary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50Ms: sorted.length ? round(percentile(sorted, 50)) : null,
    p90Ms: sorted.length ? round(percentile(sorted, 90)) : null,
    p99Ms: sorted.length ? round(percentile(sorted, 99)) : null,
    maxMs: sorted.length ? round(sorted[sorted.length - 1]) : null,
    meanMs: sorted.length ? round(sorted.reduce((a, b) => a + b, 0) / sorted.length) : null,
  };
}

// ---------------------------------------------------------------------------------------
// Idle long-polls

interface IdleResult {
  heldPolls: number;
  seconds: number;
  /** Server CPU time per wall-clock second while the clients only long-poll, ms/s. */
  cpuMsPerSec: number;
  pollCycles: number;
  pollCyclesPerSec: number;
  cpuMsPerPollCycle: number | null;
  /** RSS after two full GCs, with every client's long-poll held. */
  rssMb: number;
  heapUsedMb: number;
  /**
   * Server heap (after full GCs) with every long-poll held, less the same just before they
   * started, per poll: what a waiting request keeps alive, and so what young-generation GCs
   * copy under load. Counts the same way for bare Koa, so the ratio is Whisper's own part.
   */
  heapBytesPerHeldPoll: number;
  /** PostgreSQL runs only (local cluster): its CPU over the same window, ms/s, not in cpuMsPerSec. */
  postgresCpuMsPerSec?: number | null;
}

/**
 * Clients' first long-polls got a random timeout in [1, pollTimeoutMs], so their cycles are
 * spread evenly: any window then sees about clients × window / pollTimeout poll cycles.
 */
async function measureIdle(child: ServerChild, stats: PollStats, clients: number, label: string, heapBefore: number, postgres = false): Promise<IdleResult> {
  await sleep(SETTLE_MS);
  const gc = await child.statsAfterGc();
  const pg0 = postgres ? postgresCpuSeconds() : null;
  const a = await child.stats();
  const r0 = stats.responses;
  const t0 = performance.now();
  await sleep(settings.idleSeconds * 1000);
  const b = await child.stats();
  const seconds = (performance.now() - t0) / 1000;
  const pg1 = postgres ? postgresCpuSeconds() : null;
  const cycles = stats.responses - r0;
  const cpuMs = (cpuSecondsOf(b) - cpuSecondsOf(a)) * 1000;
  const out: IdleResult = {
    heldPolls: clients,
    seconds: round(seconds),
    cpuMsPerSec: round(cpuMs / seconds, 3),
    pollCycles: cycles,
    pollCyclesPerSec: round(cycles / seconds),
    cpuMsPerPollCycle: cycles ? round(cpuMs / cycles, 3) : null,
    rssMb: mb(gc.rss),
    heapUsedMb: mb(gc.heapUsed),
    heapBytesPerHeldPoll: Math.round((gc.heapUsed - heapBefore) / clients),
    ...(postgres ? { postgresCpuMsPerSec: pg0 !== null && pg1 !== null ? round(((pg1 - pg0) * 1000) / seconds, 3) : null } : {}),
  };
  log(`${label}: idle ${out.cpuMsPerSec} ms CPU/s, ${out.pollCyclesPerSec} poll cycles/s (${out.cpuMsPerPollCycle} ms each), RSS ${out.rssMb} MB, ${out.heapBytesPerHeldPoll} bytes of heap per held poll`);
  return out;
}

function firstTimeouts(n: number, seed: number): number[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, () => 1 + Math.floor(rnd() * settings.pollTimeoutMs));
}

async function stopPollers(pollers: Poller[]): Promise<void> {
  await Promise.all(pollers.map((p) => p.stop()));
}

async function idleKoa(): Promise<IdleResult & { errors: PollStats['errors'] }> {
  const child = await startChild('koa-longpoll');
  const http = new JsonClient(child.url);
  const stats = newPollStats();
  const timeouts = firstTimeouts(settings.clients, settings.seed + 7);
  const pollers = timeouts.map(
    (firstTimeoutMs, user) =>
      new KoaPoller({ http, stats, user, token: randomBytes(24).toString('base64url'), timeoutMs: settings.pollTimeoutMs, firstTimeoutMs }),
  );
  // Koa's code paths warmed first, as Whisper's are by setup, on as few connections: what a
  // held poll adds is then the poll, its connection included, not first-use costs.
  await mapLimit(Array.from({ length: 200 }), settings.setupConcurrency, () => http.request('GET', '/poll?timeout=0'));
  const heapBefore = (await child.statsAfterGc()).heapUsed;
  for (const p of pollers) p.start();
  log(`koa: ${pollers.length} clients long-polling`);
  const idle = await measureIdle(child, stats, pollers.length, 'koa', heapBefore);
  await stopPollers(pollers);
  http.close();
  await child.stop();
  return { ...idle, errors: stats.errors };
}

interface PauseWindow {
  atS: number;
  /** What the window covers: the last one ends with the drain, and may be short. */
  seconds: number;
  serverLoopMaxMs: number;
  serverGcMaxMs: number;
  serverGcMs: number;
  serverCpuPercent: number;
  loadGenLoopMaxMs: number;
  loadGenGcMaxMs: number;
  machineBusyPercent: number | null;
  machineStealPercent: number | null;
}

/** Reads the server's and this process's pauses, and the machine's CPU, window by window. */
function pauseWindows(child: ServerChild, loadStart: number) {
  const list: PauseWindow[] = [];
  const lg = pauseMeter();
  let lastMachine: MachineTicks | null = machineTicks();
  let lastCpu: number | undefined;
  let lastAt = performance.now();
  void child.windowStats().then((s) => (lastCpu ??= cpuSecondsOf(s)), () => {});
  const take = async (): Promise<void> => {
    const mine = lg.read();
    const machine = machineTicks();
    try {
      const server = await child.windowStats();
      const at = performance.now();
      const cpu = cpuSecondsOf(server);
      const share = (a: MachineTicks | null, b: MachineTicks | null, f: (t: MachineTicks) => number) =>
        a && b && b.total > a.total ? round(((f(b) - f(a)) / (b.total - a.total)) * 100, 1) : null;
      list.push({
        atS: round((at - loadStart) / 1000, 1),
        seconds: round((at - lastAt) / 1000, 1),
        serverLoopMaxMs: round(server.pauses.loopDelayMaxMs),
        serverGcMaxMs: round(server.pauses.gcMaxMs),
        serverGcMs: round(server.pauses.gcTotalMs),
        serverCpuPercent: lastCpu === undefined ? NaN : round(((cpu - lastCpu) / ((at - lastAt) / 1000)) * 100, 1),
        loadGenLoopMaxMs: round(mine.loopDelayMaxMs),
        loadGenGcMaxMs: round(mine.gcMaxMs),
        machineBusyPercent: share(lastMachine, machine, (t) => t.busy),
        machineStealPercent: share(lastMachine, machine, (t) => t.steal),
      });
      lastCpu = cpu;
      lastAt = at;
      lastMachine = machine;
    } catch (err) {
      log(`window stats failed: ${(err as Error).message}`);
    }
  };
  return { list, take, stop: () => lg.stop() };
}

/** A pauses reading with its figures rounded, for the report. */
function roundAll<T extends object>(o: T): T {
  return JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === 'number' ? round(v) : v)));
}

// ---------------------------------------------------------------------------------------
// Verification

interface Sample {
  kind: Room['kind'];
  roomId: string;
  seq: number;
  eventId: string | undefined;
  sender: string;
  recipient: string;
  [key: string]: unknown;
}

function verify(ledger: Ledger, pop: Population, loadStart: number) {
  const rel = (t: number) => round(t - loadStart);
  const all: number[] = [];
  const byKind = { dm: [] as number[], group: [] as number[] };
  const lostByKind = { dm: 0, group: 0 };
  const dupByKind = { dm: 0, group: 0 };
  let expected = 0;
  let lost = 0;
  let duplicated = 0;
  let extraCopies = 0;
  let wrongEventId = 0;
  let deliveredDespiteSendFailure = 0;
  const echo = { expected: 0, lost: 0, duplicated: 0 };
  const lostSamples: Sample[] = [];
  const dupSamples: Sample[] = [];
  const lostList: Array<{ seq: number; member: number }> = [];
  const BUCKET_S = 5;
  const buckets: number[][] = [];

  for (const msg of ledger.messages) {
    if (!msg) continue;
    const room = pop.rooms[msg.room];
    for (const member of room.members) {
      const r = ledger.received[member].get(msg.seq);
      if (msg.eventId === undefined) {
        if (r && member !== msg.sender) deliveredDespiteSendFailure++;
        continue;
      }
      const base = () => ({
        kind: room.kind,
        roomId: room.roomId,
        seq: msg.seq,
        eventId: msg.eventId,
        sender: pop.users[msg.sender].userId,
        recipient: pop.users[member].userId,
        sentAtMs: rel(msg.sentAt),
        sendAckMs: msg.ackAt === undefined ? null : round(msg.ackAt - msg.sentAt),
      });
      if (member === msg.sender) {
        echo.expected++;
        if (!r) echo.lost++;
        else if (r.count > 1) echo.duplicated++;
        continue;
      }
      expected++;
      if (!r) {
        lost++;
        lostByKind[room.kind]++;
        lostList.push({ seq: msg.seq, member });
        if (lostSamples.length < SAMPLES) {
          // Where the others got it: each "sync A→B" brackets the event's stream position.
          const elsewhere = room.members
            .filter((m) => m !== member)
            .map((m) => ({ user: pop.users[m].userId, via: ledger.received[m].get(msg.seq)?.via[0] }))
            .filter((x) => x.via)
            .slice(0, 3);
          const syncs = ledger.syncLog[member]
            .filter((e) => e.at >= msg.sentAt - 1000)
            .slice(0, 8)
            .map((e) => ({ since: e.since, next: e.next, atMs: rel(e.at), messages: e.seqs.length, limitedRooms: e.limitedRooms }));
          lostSamples.push({ ...base(), deliveredElsewhereVia: elsewhere, recipientSyncsAfterSend: syncs });
        }
        continue;
      }
      const latency = r.firstAt - msg.sentAt;
      all.push(latency);
      byKind[room.kind].push(latency);
      const bucket = Math.floor((msg.sentAt - loadStart) / 1000 / BUCKET_S);
      (buckets[bucket] ??= []).push(latency);
      if (r.count > 1) {
        duplicated++;
        dupByKind[room.kind]++;
        extraCopies += r.count - 1;
        if (dupSamples.length < SAMPLES) dupSamples.push({ ...base(), copies: r.count, eventIds: r.eventIds, via: r.via });
      }
      if (r.eventIds.some((id) => id !== msg.eventId)) wrongEventId++;
    }
  }
  return {
    expected,
    delivered: all.length,
    latency: latencySummary(all),
    latencyByKind: { dm: latencySummary(byKind.dm), group: latencySummary(byKind.group) },
    /** Per 5 s of send time: does latency stay flat (keeping up) or grow (falling behind)? */
    bySendTime: [...buckets].map((b, i) => {
      const l = latencySummary(b ?? []);
      return { sentFromS: i * BUCKET_S, deliveries: l.n, p50Ms: l.p50Ms, p99Ms: l.p99Ms };
    }),
    lost,
    lostByKind,
    duplicated,
    duplicatedByKind: dupByKind,
    extraCopies,
    wrongEventId,
    deliveredDespiteSendFailure,
    unknownMessages: ledger.unknown,
    ownEcho: echo,
    lostSamples,
    dupSamples,
    lostList,
  };
}

/** For a few lost deliveries: can the recipient find the event in the room's history at all? */
async function historyCheck(http: JsonClient, pop: Population, ledger: Ledger, lostList: Array<{ seq: number; member: number }>) {
  const out: unknown[] = [];
  for (const { seq, member } of lostList.slice(0, SAMPLES)) {
    const msg = ledger.messages[seq];
    const room = pop.rooms[msg.room];
    let found = false;
    let from: string | undefined;
    for (let page = 0; page < 50 && !found; page++) {
      const res = await http.request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/messages?dir=b&limit=1000${from ? `&from=${encodeURIComponent(from)}` : ''}`, {
        token: pop.users[member].accessToken,
      });
      if (res.status !== 200) break;
      found = (res.body.chunk ?? []).some((e: any) => e.event_id === msg.eventId);
      if (!res.body.end) break;
      from = res.body.end;
    }
    out.push({ seq, recipient: pop.users[member].userId, eventId: msg.eventId, inRecipientsMessagesHistory: found });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// One Whisper run

async function runWhisper(backend: 'pglite' | 'postgres', cacheFactor?: number) {
  const label = `whisper-${backend}${cacheFactor === 0 ? '-uncached' : ''}`;
  const setupStart = performance.now();
  const { dataDir, databaseUrl } = await targetStorage(backend, 'whisper-bench-sync-', cleanups, (line) => log(`${label}: ${line}`));
  const child = await startChild('whisper', { dataDir, databaseUrl, cacheFactor });
  await sleep(1000);
  const bare = await child.statsAfterGc();
  const http = new JsonClient(child.url);
  cleanups.push(async () => http.close());

  log(`${label}: registering ${settings.clients} users (argon2, ${settings.registerConcurrency} at a time)`);
  const pop = await buildPopulation(child.url, http, { ...settings, log });
  const dms = pop.rooms.filter((r) => r.kind === 'dm').length;
  log(`${label}: ${pop.users.length} users, ${dms} DMs, ${pop.rooms.length - dms} groups`);

  let t = performance.now();
  const starts = await mapLimit(pop.users, settings.setupConcurrency, (u, i) =>
    http.ok('GET', `/_matrix/client/v3/sync?timeout=0&filter=${encodeURIComponent(pop.filterIds[i])}`, { token: u.accessToken, timeoutMs: 120_000 }),
  );
  const initialSyncSeconds = (performance.now() - t) / 1000;
  log(`${label}: ${starts.length} initial syncs in ${initialSyncSeconds.toFixed(1)} s`);

  const ledger = new Ledger(pop.users.length, pop.rooms);
  const stats = newPollStats();
  const timeouts = firstTimeouts(pop.users.length, settings.seed + 7);
  const pollers = pop.users.map(
    (u, user) =>
      new SyncPoller({
        http, stats, user, token: u.accessToken, timeoutMs: settings.pollTimeoutMs, firstTimeoutMs: timeouts[user],
        since: String(starts[user].next_batch), filterId: pop.filterIds[user], ledger,
      }),
  );
  let pollersStopped = false;
  const stopAll = async () => {
    if (pollersStopped) return;
    pollersStopped = true;
    await stopPollers(pollers);
  };
  cleanups.push(stopAll);
  const heapBefore = (await child.statsAfterGc()).heapUsed;
  for (const p of pollers) p.start();
  const setupSeconds = (performance.now() - setupStart) / 1000;
  log(`${label}: ${pollers.length} clients long-polling; setup took ${setupSeconds.toFixed(1)} s`);

  const pgLocal = backend === 'postgres' && isLocalDatabase(databaseUrl!);
  const idle = await measureIdle(child, stats, pollers.length, label, heapBefore, pgLocal);

  // ---- load
  const plan = planMessages(pop.rooms, Math.round(settings.ratePerSec * settings.seconds), settings.seed);
  const groupShare = plan.filter((m) => pop.rooms[m.room].kind === 'group').length / Math.max(1, plan.length);
  ledger.recording = true;
  const before = { requests: stats.requests, responses: stats.responses, messageEvents: stats.messageEvents, withMessages: stats.responsesWithMessages };
  const pg0 = pgLocal ? postgresCpuSeconds() : null;
  const cpu0 = await child.stats();
  const parent0 = process.cpuUsage();
  const loadGenPauses = pauseMeter();
  // The server with its children (PGlite's process), as the other RSS figures count it.
  const family = [child.pid, ...descendantPids(child.pid)];
  const familyRss = () => family.reduce((sum, pid) => sum + (vmRssOf(pid) ?? 0), 0);
  let peakRss = familyRss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, familyRss());
  }, 250);
  log(`${label}: sending ${plan.length} messages at ${settings.ratePerSec}/s (${round(groupShare * 100, 1)}% to groups)`);
  const loadStart = performance.now();
  const windows = pauseWindows(child, loadStart);
  // Also when the run fails half way (stopping twice is harmless).
  cleanups.push(async () => {
    loadGenPauses.stop();
    windows.stop();
  });
  const sendHttp = new JsonClient(child.url, settings.sendConnections);
  cleanups.push(async () => sendHttp.close());
  const sending = startSending({
    http: sendHttp, users: pop.users, rooms: pop.rooms, plan, ratePerSec: settings.ratePerSec, ledger, errors: stats, runTag: `b${randomBytes(3).toString('hex')}`,
    sendTimeoutMs: (settings.seconds + settings.maxBacklogSeconds) * 1000,
  });
  const progress = setInterval(() => {
    const s = (performance.now() - loadStart) / 1000;
    void windows.take();
    log(`  ${s.toFixed(0)} s: ${sending.stats.issued} issued, ${sending.stats.ok} ok, ${ledger.deliveredPairs} deliveries, ${stats.limitedSyncs} limited, ${sending.stats.non2xx + sending.stats.exceptions + stats.errors.syncNon2xx + stats.errors.syncExceptions} errors`);
  }, 5000);
  const heapSampling = heapSampleDir ? sampleHeaps(child, heapSampleDir, label) : Promise.resolve();
  await sending.issued;
  await heapSampling;
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const cpu1 = await child.stats();
  const parent1 = process.cpuUsage(parent0);
  const pg1 = pgLocal ? postgresCpuSeconds() : null;
  const after = { requests: stats.requests, responses: stats.responses, messageEvents: stats.messageEvents, withMessages: stats.responsesWithMessages };

  // ---- backlog: an overloaded server still holds sends; every one answers (or times out)
  const backlogStart = performance.now();
  await sending.settled();
  const backlogSeconds = (performance.now() - backlogStart) / 1000;
  if (backlogSeconds > 1) log(`${label}: the last sends answered ${backlogSeconds.toFixed(1)} s after the last was issued`);
  // ---- drain: every sent message to every recipient, or the drain time is up
  const drainStart = performance.now();
  const expectedPairs = ledger.messages.reduce((n, m) => n + (m && m.eventId !== undefined ? pop.rooms[m.room].members.length - 1 : 0), 0);
  while (performance.now() - drainStart < settings.drainSeconds * 1000 && ledger.deliveredPairs < expectedPairs) await sleep(100);
  const drainSeconds = (performance.now() - drainStart) / 1000;
  clearInterval(progress);
  clearInterval(sampler);
  const lgPauses = loadGenPauses.read();
  loadGenPauses.stop();
  await windows.take();
  windows.stop();
  const cpu2 = await child.stats();
  const pg2 = pgLocal ? postgresCpuSeconds() : null;
  log(`${label}: drained in ${drainSeconds.toFixed(1)} s`);

  let v = verify(ledger, pop, loadStart);
  let lateArrivals = 0;
  let history: unknown[] = [];
  if (v.lost > 0) {
    log(`${label}: ${v.lost} deliveries missing after the drain; looking ${LATE_CHECK_MS / 1000} s more`);
    await sleep(LATE_CHECK_MS);
    const again = verify(ledger, pop, loadStart);
    lateArrivals = v.lost - again.lost;
    if (again.lost > 0) {
      v = again;
      history = await historyCheck(http, pop, ledger, v.lostList);
    }
  }
  await stopAll();
  const lifetime = await child.stats();
  await child.stop();
  http.close();
  sendHttp.close();

  const s = sending.stats;
  const sendSorted = [...s.latencies].sort((a, b) => a - b);
  const serverCpuSeconds = cpuSecondsOf(cpu1) - cpuSecondsOf(cpu0);
  const errors = {
    total: s.non2xx + s.exceptions + stats.errors.syncNon2xx + stats.errors.syncExceptions + stats.errors.gapFillNon2xx + stats.errors.gapFillExceptions,
    sendNon2xx: s.non2xx,
    sendExceptions: s.exceptions,
    ...stats.errors,
    samples: stats.errorSamples,
  };
  const responses = after.responses - before.responses;
  const result = {
    backend,
    setupSeconds: round(setupSeconds, 1),
    setup: {
      users: pop.users.length,
      dms,
      groups: pop.rooms.length - dms,
      groupSize: settings.groupSize,
      registerSeconds: round(pop.timings.registerSeconds, 1),
      roomsSeconds: round(pop.timings.roomsSeconds, 1),
      filtersSeconds: round(pop.timings.filtersSeconds, 1),
      initialSyncSeconds: round(initialSyncSeconds, 1),
    },
    loadSeconds: round(loadSeconds),
    messagesPlanned: plan.length,
    messagesSent: s.ok,
    messagesPerSecIssued: round(s.issued / loadSeconds),
    messagesPerSecAchieved: round(s.ok / Math.max(loadSeconds, (s.lastAckAt - loadStart) / 1000)),
    messagesPerSecAchievedNote: 'successful sends / time from the first issue to the last answer (the sustained rate when the server falls behind)',
    sendBacklogSecondsAfterLoad: round(backlogSeconds, 1),
    drainSeconds: round(drainSeconds, 1),
    messagesToGroupsShare: round(groupShare, 3),
    sendLatencyMs: { p50: round(percentile(sendSorted, 50)), p99: round(percentile(sendSorted, 99)), max: round(sendSorted.at(-1) ?? NaN) },
    maxSendsOutstanding: s.maxInFlight,
    deliveries: v.delivered,
    expectedDeliveries: v.expected,
    deliveryLatencyMs: v.latency,
    deliveryLatencyByKindMs: v.latencyByKind,
    deliveryLatencyBySendTimeMs: v.bySendTime,
    lost: v.lost,
    lostByKind: v.lostByKind,
    duplicated: v.duplicated,
    duplicatedByKind: v.duplicatedByKind,
    extraCopies: v.extraCopies,
    wrongEventId: v.wrongEventId,
    deliveredDespiteSendFailure: v.deliveredDespiteSendFailure,
    unknownMessages: v.unknownMessages,
    lateArrivalsAfterDrain: lateArrivals,
    ownEcho: v.ownEcho,
    errors,
    limitedSyncs: stats.limitedSyncs,
    gapFillRequests: stats.gapFillRequests,
    syncs: {
      responsesDuringLoad: responses,
      responsesPerSec: round(responses / loadSeconds),
      withMessages: after.withMessages - before.withMessages,
      messagesPerResponseWithMessages: round((after.messageEvents - before.messageEvents) / Math.max(1, after.withMessages - before.withMessages)),
    },
    serverCpuSeconds: round(serverCpuSeconds),
    serverCpuPercent: round((serverCpuSeconds / loadSeconds) * 100, 1),
    serverCpuSecondsUntilDrained: round(cpuSecondsOf(cpu2) - cpuSecondsOf(cpu0)),
    serverDatabaseChildCpuPercent: round(((cpu1.childCpuUs - cpu0.childCpuUs) / 1e6 / loadSeconds) * 100, 1),
    serverCpuNote: 'the Whisper child over the load window (process.cpuUsage, all its threads) plus its own children (PGlite runs in one; serverDatabaseChildCpuPercent is that part); percent of one core, the machine has 2 (200%); UntilDrained adds the backlog and drain',
    serverPausesDuringLoad: { ...roundAll(cpu1.pauses), note: "the server's own event-loop delay and garbage-collection pauses over the load window (perf_hooks in the child)" },
    ...(backend === 'postgres'
      ? {
          postgresCpuSeconds: pg0 !== null && pg1 !== null ? round(pg1 - pg0) : null,
          postgresCpuPercent: pg0 !== null && pg1 !== null ? round(((pg1 - pg0) / loadSeconds) * 100, 1) : null,
          postgresCpuSecondsUntilDrained: pg0 !== null && pg2 !== null ? round(pg2 - pg0) : null,
          postgresCpuNote: 'all processes of the local PostgreSQL cluster over the load window (machine-wide, from /proc); not included in serverCpu*',
        }
      : {}),
    serverRssMb: {
      bareStart: mb(bare.rss),
      idleAfterSetup: idle.rssMb,
      peakDuringLoad: peakRss ? mb(peakRss) : null,
      lifetimePeak: mb(lifetime.maxRss),
      note: "the server with its child processes (PGlite's), except lifetimePeak: the server process alone",
    },
    idle,
    windows: { every5s: windows.list, note: 'per 5 s of the load and drain (by when it was measured, not when the messages were sent): the server\'s and the load generator\'s longest event-loop delay and GC pauses, the server\'s CPU (with its database child), and the whole machine\'s busy and steal share of its cores; a delivery spike with both processes stalled and the machine busy points at the machine' },
    loadGenerator: {
      cpuSeconds: round((parent1.user + parent1.system) / 1e6),
      cpuPercent: round(((parent1.user + parent1.system) / 1e6 / loadSeconds) * 100, 1),
      pauses: roundAll(lgPauses),
      maxScheduleSlipMs: round(s.maxScheduleSlipMs),
    },
    ...(v.lost || v.duplicated ? { diagnosis: { lostSamples: v.lostSamples, lostHistoryCheck: history, duplicateSamples: v.dupSamples } } : {}),
  };
  const lat = result.deliveryLatencyMs;
  log(`${label}: ${result.messagesSent} sent (${result.messagesPerSecAchieved}/s), ${result.deliveries}/${result.expectedDeliveries} deliveries, p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, lost ${result.lost}, duplicated ${result.duplicated}, errors ${errors.total}, server CPU ${result.serverCpuPercent}%`);
  return result;
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const code = codeVersion();
  log(`settings ${JSON.stringify(settings)}; ${os.cpus().length} CPUs, node ${process.version}`);
  const koa = await idleKoa();
  const all: Array<'pglite' | 'postgres'> = process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
  const backends = settings.backends ? all.filter((b) => settings.backends!.includes(b)) : all;
  const runs: Record<string, Awaited<ReturnType<typeof runWhisper>>> = {};
  if (settings.cacheBaseline && backends.includes('pglite')) runs['pglite-uncached'] = await runWhisper('pglite', 0);
  for (const backend of backends) runs[backend] = await runWhisper(backend);

  const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 2) : null);
  const idle = {
    note: `${settings.clients} clients each holding a long-poll (timeout ${settings.pollTimeoutMs} ms, cycles spread evenly); server CPU per wall-clock second`,
    koa: koa,
    whisper: Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.idle])),
    ratioWhisperOverKoa: Object.fromEntries(
      Object.entries(runs).map(([k, r]) => [
        k,
        {
          cpuMsPerSec: ratio(r.idle.cpuMsPerSec, koa.cpuMsPerSec),
          cpuPerPollCycle: ratio(r.idle.cpuMsPerPollCycle ?? 0, koa.cpuMsPerPollCycle ?? 0),
          heapBytesPerHeldPoll: ratio(r.idle.heapBytesPerHeldPoll, koa.heapBytesPerHeldPoll),
          ...(typeof r.idle.postgresCpuMsPerSec === 'number'
            ? { cpuMsPerSecIncludingPostgres: ratio(r.idle.cpuMsPerSec + r.idle.postgresCpuMsPerSec, koa.cpuMsPerSec) }
            : {}),
        },
      ]),
    ),
  };
  const perRun = Object.fromEntries(
    Object.entries(runs).map(([k, r]) => {
      const p99 = r.deliveryLatencyMs.p99Ms;
      const p99Met = p99 !== null && p99 < GOALS.p99Ms;
      return [k, { p99Ms: p99, p99Met, lost: r.lost, duplicated: r.duplicated, errors: r.errors.total, met: p99Met && r.lost === 0 && r.duplicated === 0 }];
    }),
  );
  const uncached = runs['pglite-uncached'];
  const cached = runs.pglite;
  const caches = uncached && cached
    ? {
        note: 'PGlite with the in-memory caches (WHISPER_CACHE_FACTOR=1) over the same run without them (0): below 1 is better for latency and CPU',
        p50: ratio(cached.deliveryLatencyMs.p50Ms ?? 0, uncached.deliveryLatencyMs.p50Ms ?? 0),
        p99: ratio(cached.deliveryLatencyMs.p99Ms ?? 0, uncached.deliveryLatencyMs.p99Ms ?? 0),
        serverCpuPercent: ratio(cached.serverCpuPercent, uncached.serverCpuPercent),
        idleCpuMsPerSec: ratio(cached.idle.cpuMsPerSec, uncached.idle.cpuMsPerSec),
        messagesPerSecAchieved: ratio(cached.messagesPerSecAchieved, uncached.messagesPerSecAchieved),
      }
    : undefined;
  const report = {
    settings: {
      ...settings,
      dmPairs: settings.clients / 2,
      groupMembersAreUsers: `the first ${settings.groups * settings.groupSize} users (each also in a DM)`,
      roomChoice: 'each message from a uniformly chosen room membership (so a group gets groupSize/2 times the traffic of a DM); evenly spaced, open loop',
      sending: `open loop over ${settings.sendConnections} keep-alive connections: a send issued while all are busy waits in the load generator (counted in its latency); one connection per long-polling client`,
      syncFilter: `stored filter {room:{timeline:{limit:${settings.timelineLimit}}}}`,
      latency: 'time the recipient parsed the /sync (or gap-filling /messages) response − time the PUT was issued, per (message, recipient other than the sender), in the load generator',
      errors: 'non-2xx answers and exceptions of sends, long-polls and gap-filling /messages, from the first long-poll to the end',
    },
    machine: {
      ...machineFacts(),
      code: { ...code, changedDuringRun: JSON.stringify(codeVersion()) !== JSON.stringify(code) },
      note: 'the load generator (all clients and the sender, one process) runs on the same cores as the server child (and PostgreSQL); see runs.*.loadGenerator',
    },
    runs,
    idle,
    ...(caches ? { caches } : {}),
    goals: {
      p99Ms: GOALS.p99Ms,
      lost: GOALS.lost,
      duplicated: GOALS.duplicated,
      perRun,
      // The uncached run is a baseline, not a configuration anyone runs.
      met: Object.entries(perRun).every(([k, r]) => k === 'pglite-uncached' || r.met),
    },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await runMain(main, cleanUp, log);
