/**
 * `npm run bench:client`: the web client in Chromium against a real Whisper.
 *
 * - Bundle size: gzip -9 of what the first page load fetches (entry, its static chunks, CSS),
 *   and of what is loaded only when encryption starts (the Rust crypto chunk and its WASM).
 * - Time to first render: navigation start to the sign-in form on screen, against a blank
 *   page from the same server in the same browser (the baseline: the ratio is the app's cost).
 * - Time to an interactive timeline in a room with BENCH_CLIENT_MESSAGES (10,000) messages of
 *   history: a signed-in page load until the newest messages and the composer are on screen;
 *   then scroll-back of BENCH_CLIENT_PAGES pages through that history, the JS heap and the number of
 *   elements in the document before and after (a windowed timeline keeps the latter bounded);
 *   then a reload of that page with its IndexedDB sync cache saved. Each run signs in a new
 *   device; the baseline is the same with the crypto WASM blocked (the app without encryption),
 *   run interleaved with it, so the ratio is what end-to-end encryption adds to the start.
 *
 * Progress goes to stderr; one JSON document goes to stdout. Needs Chromium (/usr/bin/chromium
 * or CHROMIUM_PATH). Environment: BENCH_CLIENT_MESSAGES (10000), BENCH_CLIENT_RUNS (3),
 * BENCH_CLIENT_PAGES (10), BENCH_CLIENT_SEND_CONCURRENCY (8), BENCH_CLIENT_COMPARE_DIST (another
 * build's client/dist to run beside this one, e.g. main's: `git archive main client package.json`
 * into a folder with node_modules linked, then `node client/build.ts` there).
 */
import { readFile } from 'node:fs/promises';
import { copyFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { buildClient, DIST, isStale } from '../../client/build.ts';
import { chromiumMissing, launchChromium } from '../../spec-tests/browser.ts';
import { register, type BenchUser } from '../http/matrix.ts';
import { runMain } from '../shared/runMain.ts';
import { envNumber } from '../shared/env.ts';
import { startBenchWhisper } from '../shared/whisperServer.ts';

const settings = {
  messages: envNumber('BENCH_CLIENT_MESSAGES', 10_000),
  runs: envNumber('BENCH_CLIENT_RUNS', 3),
  pages: envNumber('BENCH_CLIENT_PAGES', 10),
  sendConcurrency: envNumber('BENCH_CLIENT_SEND_CONCURRENCY', 8),
  /** Another build's client/dist to compare with (main's, built from a checkout of it). */
  compareDist: process.env.BENCH_CLIENT_COMPARE_DIST || undefined,
};

const log = (line: string) => process.stderr.write(`[bench:client] ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** gzip -9 sizes of the first load (entry + static imports + CSS) and of the lazy crypto. */
async function bundleSizes(): Promise<Record<string, number>> {
  const meta = JSON.parse(await readFile(path.join(DIST, 'meta.json'), 'utf8')) as { outputs: Record<string, { imports: { path: string; kind: string }[]; entryPoint?: string; bytes: number }> };
  const rel = (p: string) => path.resolve(p);
  const outputs = new Map(Object.entries(meta.outputs).map(([p, o]) => [rel(p), o]));
  const entry = [...outputs.entries()].find(([, o]) => o.entryPoint?.endsWith('main.ts'))![0];
  const initial = new Set<string>();
  const walk = (file: string) => {
    if (initial.has(file)) return;
    initial.add(file);
    for (const imp of outputs.get(file)?.imports ?? []) if (imp.kind === 'import-statement') walk(rel(imp.path));
  };
  walk(entry);
  for (const [file] of outputs) if (file.endsWith('.css')) initial.add(file);
  const gz = async (file: string) => gzipSync(await readFile(file), { level: 9 }).length;
  let initialRaw = 0;
  let initialGzip = 0;
  for (const file of initial) {
    initialRaw += (await readFile(file)).length;
    initialGzip += await gz(file);
  }
  let lazyGzip = 0;
  for (const [file] of outputs) if (file.endsWith('.js') && !initial.has(file)) lazyGzip += await gz(file);
  const wasm = path.join(DIST, 'assets/pkg/matrix_sdk_crypto_wasm_bg.wasm');
  return {
    initial_bytes: initialRaw,
    initial_gzip_bytes: initialGzip,
    lazy_js_gzip_bytes: lazyGzip,
    crypto_wasm_gzip_bytes: await gz(wasm),
    total_gzip_bytes: initialGzip + lazyGzip + (await gz(wasm)),
  };
}

async function call(base: string, token: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(base + p, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The DM of two friends (a friend request is a DM invite), with `count` messages in runs as people write. */
async function seedHistory(base: string, alice: BenchUser, bob: BenchUser, count: number): Promise<string> {
  const { room_id: roomId } = await call(base, alice.accessToken, 'POST', '/_whisper/client/v1/friends/requests', { user_id: bob.userId });
  await call(base, bob.accessToken, 'POST', `/_whisper/client/v1/friends/requests/${encodeURIComponent(alice.userId)}/accept`, {});
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const who = Math.floor(i / 3) % 2 === 0 ? alice : bob;
      const body = i % 10 === 0 ? `message ${i} with **markdown** and a [link](https://example.org)` : `message ${i}: the quick brown fox jumps over the lazy dog`;
      const content = i % 10 === 0 ? { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: `<p>message ${i} with <strong>markdown</strong> and a <a href="https://example.org">link</a></p>` } : { msgtype: 'm.text', body };
      await call(base, who.accessToken, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b${i}`, content);
      if (i % 1000 === 999) log(`seeded ${i + 1}/${count} messages (${Math.round((i + 1) / ((Date.now() - started) / 1000))}/s)`);
    }
  };
  await Promise.all(Array.from({ length: settings.sendConcurrency }, worker));
  return roomId;
}

/** Records, in the page, when a condition first holds (checked on every DOM change). */
async function markWhen(page: Page, name: string, check: string): Promise<void> {
  await page.addInitScript(({ name, check }) => {
    const w = window as any;
    w.__marks ??= {};
    const test = new Function(`return (${check})`) as () => boolean;
    const observer = new MutationObserver(() => {
      if (w.__marks[name] === undefined && test()) {
        w.__marks[name] = performance.now();
        observer.disconnect();
      }
    });
    document.addEventListener('DOMContentLoaded', () => observer.observe(document.body, { childList: true, subtree: true }));
  }, { name, check });
}

async function waitMark(page: Page, name: string): Promise<number> {
  await page.waitForFunction((n) => (window as any).__marks?.[n] !== undefined, name, { timeout: 60_000 });
  return page.evaluate((n) => (window as any).__marks[n] as number, name);
}

/**
 * The app's own marks of a start (whisper:open, whisper:first-sync, whisper:crypto-started, ms
 * from navigation), once crypto has started or failed to (this build; another build may not
 * set them): where the time to an interactive timeline goes.
 */
async function startMarks(page: Page, wait: boolean): Promise<Record<string, number>> {
  if (wait) await page.waitForFunction(() => performance.getEntriesByName('whisper:crypto-started').length > 0, null, { timeout: 60_000 });
  return page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').filter((e) => e.name.startsWith('whisper:')).map((e) => [e.name.slice('whisper:'.length), Math.round(e.startTime)])));
}

async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  return round((metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 1024 / 1024);
}

/** Elements in the document, and message elements in the timeline. */
function domCounts(page: Page): Promise<{ nodes: number; messages: number }> {
  return page.evaluate(() => ({ nodes: document.getElementsByTagName('*').length, messages: document.querySelectorAll('.timeline article.message').length }));
}

/** How many different messages the page has drawn so far (kept in the page across calls). */
function seenMessages(page: Page): Promise<number> {
  return page.evaluate(() => {
    const w = window as unknown as { __seen?: Set<string> };
    w.__seen ??= new Set();
    for (const el of document.querySelectorAll('.timeline article.message')) w.__seen.add(el.getAttribute('data-event-id') ?? '');
    return w.__seen.size;
  });
}

async function firstRender(browser: Browser, base: string): Promise<{ blank: number; app: number }> {
  const context = await browser.newContext();
  const blankPage = await context.newPage();
  // Baseline: a page from the same server that draws one element (the 404 JSON of an unknown asset is not drawn; about:blank has no network).
  await markWhen(blankPage, 'drawn', 'document.body && document.body.childElementCount > 0');
  const blankStart = Date.now();
  await blankPage.goto(`${base}/_matrix/client/versions`);
  const blank = Date.now() - blankStart;
  await blankPage.close();
  const page = await context.newPage();
  await markWhen(page, 'form', "!!document.querySelector('form.auth-card')");
  await page.goto(base);
  const app = await waitMark(page, 'form');
  await context.close();
  return { blank, app };
}

/**
 * A new device of `user` (its own access token and device id), as after "Sign in" on a new
 * browser: the crypto store in the page starts empty and the device's keys are made and uploaded.
 */
async function newDevice(base: string, user: BenchUser): Promise<{ userId: string; accessToken: string; deviceId: string }> {
  const res = await fetch(`${base}/_matrix/client/v3/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.username }, password: user.password }) });
  const body = await res.json() as { device_id: string; access_token: string };
  if (!res.ok) throw new Error(`login: ${res.status} ${JSON.stringify(body)}`);
  return { userId: user.userId, accessToken: body.access_token, deviceId: body.device_id };
}

/**
 * An interactive timeline on a new device, scroll-back, typing, and a reload, in one variant of
 * the app: this build; this build with the crypto WASM request failing, so it runs without
 * end-to-end encryption (as where crypto cannot start: the difference is what starting crypto
 * costs); or another build (BENCH_CLIENT_COMPARE_DIST, say main's), whose index page is served
 * in place of this one's and whose assets were copied beside this build's (names are hashed).
 */
interface Variant { name: string; cryptoOff?: boolean; indexHtml?: string }
let compare: { dist: string; copied: string[] } | undefined;

/** Puts the other build's assets beside this build's (skipping those both have) and returns its index page. */
async function addCompareBuild(dist: string): Promise<string> {
  const copied: string[] = [];
  for (const name of await readdir(path.join(dist, 'assets'))) {
    const to = path.join(DIST, 'assets', name);
    if (name === 'pkg' || (await stat(to).catch(() => undefined))) continue;
    await copyFile(path.join(dist, 'assets', name), to);
    copied.push(to);
  }
  compare = { dist, copied };
  return readFile(path.join(dist, 'index.html'), 'utf8');
}
async function timeline(browser: Browser, base: string, user: { userId: string; accessToken: string; deviceId: string }, roomId: string, variant: Variant) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (variant.cryptoOff) await context.route('**/*.wasm', (route) => route.abort());
  // Comparing builds: every variant's page goes through the same interception; only the compared build's index differs.
  if (compare) await context.route(`${base}/`, async (route) => route.fulfill({ response: await route.fetch(), ...(variant.indexHtml ? { body: variant.indexHtml } : {}) }));
  await context.addInitScript(({ base, user }) => {
    localStorage.setItem('whisper.serverUrl', base);
    localStorage.setItem('whisper.session', JSON.stringify({ baseUrl: base, userId: user.userId, accessToken: user.accessToken, deviceId: user.deviceId }));
  }, { base, user });
  const page = await context.newPage();
  await markWhen(page, 'interactive', "document.querySelectorAll('.timeline article.message').length > 10 && !!document.querySelector('#composer-input')");
  await page.goto(`${base}/#!/rooms/${encodeURIComponent(roomId)}`);
  const interactive = await waitMark(page, 'interactive');
  const starts = await startMarks(page, !variant.indexHtml);
  const heapAtStart = await heapMb(page);
  const domAtStart = await domCounts(page);
  const loaded = domAtStart.messages;
  // Scroll-back: each page is a scroll to the top and the wait for older messages to be drawn
  // (the oldest message on the page changes: a windowed timeline drops newer ones meanwhile).
  const pageTimes: number[] = [];
  let seen = await seenMessages(page);
  for (let i = 0; i < settings.pages; i++) {
    const oldest = await page.evaluate(() => document.querySelector('.timeline article.message')?.getAttribute('data-event-id'));
    const t0 = Date.now();
    await page.evaluate(() => { const el = document.querySelector('.timeline')!; el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
    await page.waitForFunction((id) => document.querySelector('.timeline article.message')?.getAttribute('data-event-id') !== id, oldest, { timeout: 30_000 });
    pageTimes.push(Date.now() - t0);
    seen = await seenMessages(page);
  }
  const count = seen;
  const domAfter = await domCounts(page);
  const heapAfter = await heapMb(page);
  // Typing into the composer with thousands of messages loaded: one keystroke to the next frame.
  const keystroke = await page.evaluate(async () => {
    const input = document.querySelector('#composer-input') as HTMLTextAreaElement;
    input.focus();
    const frame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));
    const type = (value: string) => {
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    };
    type('h');
    await frame();
    await frame();
    const t0 = performance.now();
    type('hi');
    await frame();
    return performance.now() - t0;
  });
  // A reload with the sync cache saved (the app saves it when the page is hidden): rooms come from IndexedDB.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForTimeout(1000);
  await page.reload();
  const warm = await waitMark(page, 'interactive');
  await context.close();
  return { interactive, warm, loaded, heapAtStart, heapAfter, drawn: count, pageTimes, keystroke, domAtStart, domAfter, starts };
}

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  if (await isStale()) {
    log('building the client');
    await buildClient();
  }
  const bundle = await bundleSizes();
  log(`bundle: ${round(bundle.initial_gzip_bytes / 1024)} KiB gzip on first load`);
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'whisper-bench-client-'));
  const server = await startBenchWhisper({ dataDir });
  closeServer = server.close;
  const alice = await register(server.url);
  const bob = await register(server.url);
  const seedStart = Date.now();
  log(`seeding ${settings.messages} messages`);
  const roomId = await seedHistory(server.url, alice, bob, settings.messages);
  const seedSeconds = (Date.now() - seedStart) / 1000;
  browser = await launchChromium();
  const renders: { blank: number; app: number }[] = [];
  const timelines: Awaited<ReturnType<typeof timeline>>[] = [];
  const baselines: Awaited<ReturnType<typeof timeline>>[] = [];
  const compared: Awaited<ReturnType<typeof timeline>>[] = [];
  const compareHtml = settings.compareDist ? await addCompareBuild(settings.compareDist) : undefined;
  for (let run = 0; run < settings.runs; run++) {
    renders.push(await firstRender(browser, server.url));
    // Interleaved, so all meet the same load on a shared machine.
    baselines.push(await timeline(browser, server.url, await newDevice(server.url, alice), roomId, { name: 'crypto off', cryptoOff: true }));
    timelines.push(await timeline(browser, server.url, await newDevice(server.url, alice), roomId, { name: 'this build' }));
    if (compareHtml) compared.push(await timeline(browser, server.url, await newDevice(server.url, alice), roomId, { name: 'compared build', indexHtml: compareHtml }));
    const other = compareHtml ? `, compared build ${round(compared.at(-1)!.interactive)} / ${round(compared.at(-1)!.warm)} ms` : '';
    log(`run ${run + 1}: first render ${round(renders.at(-1)!.app)} ms; interactive timeline / after reload: this build ${round(timelines.at(-1)!.interactive)} / ${round(timelines.at(-1)!.warm)} ms, crypto off ${round(baselines.at(-1)!.interactive)} / ${round(baselines.at(-1)!.warm)} ms${other}`);
  }
  const versus = (key: 'interactive' | 'warm', mine: number) => (compareHtml ? {
    compared_build_ms: round(median(compared.map((t) => t[key]))), compared_runs: compared.map((t) => round(t[key])), ratio_to_compared_build: round(mine / median(compared.map((t) => t[key])), 2),
  } : {});
  const firstRenderMs = median(renders.map((r) => r.app));
  const blankMs = median(renders.map((r) => r.blank));
  const interactiveMs = median(timelines.map((t) => t.interactive));
  const baselineMs = median(baselines.map((t) => t.interactive));
  const warmMs = median(timelines.map((t) => t.warm));
  const baselineWarmMs = median(baselines.map((t) => t.warm));
  const last = timelines.at(-1)!;
  const result = {
    benchmark: 'client',
    settings,
    chromium: browser.version(),
    seed: { messages: settings.messages, seconds: round(seedSeconds), per_second: Math.round(settings.messages / seedSeconds) },
    bundle: { ...bundle, initial_gzip_mib: round(bundle.initial_gzip_bytes / 1024 / 1024, 3), goal_gzip_mib: 1.5 },
    first_render_ms: { median: round(firstRenderMs), runs: renders.map((r) => round(r.app)), baseline_plain_page_ms: round(blankMs), ratio_to_baseline: round(firstRenderMs / blankMs, 2) },
    interactive_timeline_ms: {
      median: round(interactiveMs), runs: timelines.map((t) => round(t.interactive)), history_messages: settings.messages, goal_ms: 1000, note: 'a new device signed in: empty caches, device keys made',
      baseline_crypto_off_ms: round(baselineMs), baseline_runs: baselines.map((t) => round(t.interactive)), ratio_to_crypto_off: round(interactiveMs / baselineMs, 2), ratio_to_first_render: round(interactiveMs / firstRenderMs, 2),
      ...versus('interactive', interactiveMs),
    },
    // Medians of the app's marks on a new device (ms from navigation): the app opened the session, the first sync was in, crypto ran.
    start_marks_ms: Object.fromEntries(['open', 'first-sync', 'crypto-started'].map((k) => [k, {
      this_build: round(median(timelines.map((t) => t.starts[k] ?? NaN))), crypto_off: round(median(baselines.map((t) => t.starts[k] ?? NaN))),
    }])),
    interactive_timeline_reload_ms: {
      median: round(warmMs), runs: timelines.map((t) => round(t.warm)), note: 'same page reloaded with the IndexedDB sync cache saved',
      baseline_crypto_off_ms: round(baselineWarmMs), baseline_runs: baselines.map((t) => round(t.warm)), ratio_to_crypto_off: round(warmMs / baselineWarmMs, 2),
      ...versus('warm', warmMs),
    },
    scrollback: {
      messages_on_open: last.loaded,
      pages: settings.pages,
      messages_drawn_after: last.drawn,
      dom_elements: { on_open: last.domAtStart.nodes, after: last.domAfter.nodes, ratio: round(last.domAfter.nodes / last.domAtStart.nodes, 2) },
      message_elements: { on_open: last.domAtStart.messages, after: last.domAfter.messages },
      page_ms: { median: median(last.pageTimes), max: Math.max(...last.pageTimes) },
    },
    memory_mib: { js_heap_on_open: last.heapAtStart, js_heap_after_scrollback: last.heapAfter, per_1000_messages_drawn: round(((last.heapAfter - last.heapAtStart) / Math.max(1, last.drawn - last.loaded)) * 1000, 2) },
    keystroke_to_frame_ms: round(median(timelines.map((t) => t.keystroke))),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

let dataDir: string | undefined;
let closeServer: (() => Promise<void>) | undefined;
let browser: Browser | undefined;

await runMain(main, async () => {
  await browser?.close().catch(() => {});
  for (const file of compare?.copied ?? []) await rm(file, { force: true });
  await closeServer?.().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, log);
