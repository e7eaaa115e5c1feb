/**
 * Voice/streaming relay benchmark: the same 1080p60 stream (a canvas whose frames carry the
 * time they were drawn) relayed (1) through Whisper — its signaling WebSocket, its Janus
 * configuration and rooms, its client code (VoiceConnection.goLive / watch) — and (2) through
 * a bare Janus VideoRoom driven by a minimal client speaking the Janus API, in the same run,
 * for 1, 2 and 4 viewers. Both sides carry the same workload (WORKLOADS below says it in the
 * JSON): by default a call, where every page publishes its muted microphone and receives the
 * others' voices, and the stream goes out as one layer; "-simulcast" modes send "go live"'s
 * default of three simulcast layers, "-video" modes receive no voice. Each Whisper mode is
 * compared with the bare mode of the same workload (whisper-simulcast with bare-simulcast).
 * Per run: sent and received fps, glass-to-glass latency p50/p95 (the stamp read back from the
 * received frames), freezes, loss, CPU of Janus, of the node process (the Whisper server plus
 * this driver; the bare runs have the driver alone) and of this run's Chromium (all its
 * processes; on a 2-core box the browsers' CPU is what limits the frame rate), the box's load,
 * and where a frame's time goes (encode, key frames, the viewer's jitter buffer). JSON on stdout with
 * Whisper/bare ratios: of the medians over rounds, and the median of each round's own
 * difference (the relays run back to back in a round, so the box's load drifting between
 * rounds touches that less), plus the share of sent frames each relay delivered (the sender's
 * own pace, which other work on a 2-core box sets, factored out); progress on stderr.
 *
 *   sudo npm run bench:voice -- [--viewers 1,2,4] [--seconds 8] [--codec video/H264] [--rounds 2]
 *                               [--modes whisper,bare,whisper-simulcast,bare-simulcast,whisper-video,bare-video]
 *
 * Needs root (a network namespace: Janus gathers no ICE candidates on loopback), janus and
 * chromium (Debian packages). It re-runs itself inside the namespace it makes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { stripTypeScriptTypes } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeMediaNamespace } from '../../spec-tests/media/netns.ts';
import { freePort } from '../../homeserver/media/freePort.ts';
import { cpuBetween, machineBusy, sampleCpu } from '../../spec-tests/media/cpu.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const log = (line: string) => process.stderr.write(`[bench:voice] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { values: args } = parseArgs({
  options: {
    viewers: { type: 'string', default: '1,2,4' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '5' },
    codec: { type: 'string', default: 'video/H264' },
    rounds: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'whisper,bare' },
  },
});

/** A relay (Whisper, or a bare Janus driven by a minimal client) and a workload. */
type Workload = '' | '-simulcast' | '-video';
type Mode = `${'whisper' | 'bare'}${Workload}`;

/** What each workload is; both relays run it the same way. */
const WORKLOADS: Record<Workload, string> = {
  '': 'a call: every page publishes its microphone, muted (Opus FEC/DTX; Janus told not to relay it), and receives every other page\'s voice feed; the stream goes out as one layer',
  '-simulcast': 'the call, with the stream sent as three simulcast layers (h, m, l: full, 1/2, 1/4 size), as "go live" does by default; viewers take h',
  '-video': 'every page publishes its muted microphone but receives no voice; the stream goes out as one layer',
};
const workloadOf = (mode: Mode) => mode.replace(/^(whisper|bare)/, '') as Workload;

if (!process.env.WHISPER_BENCH_NETNS) {
  // Outside: make the namespace (a veth pair with both ends inside, 198.18.0.2/30, lo up) and run inside it.
  const ns = makeMediaNamespace('whisper-bench');
  try {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, ...process.execArgv, import.meta.filename, ...process.argv.slice(2)], {
      stdio: 'inherit', env: { ...process.env, WHISPER_BENCH_NETNS: ns.name },
    });
    const forward = (s: NodeJS.Signals) => child.kill(s);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    process.exitCode = code;
  } finally {
    ns.remove();
  }
} else {
  await inside();
}

function ticksOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A bare Janus: VideoRoom and the WebSocket transport on loopback, no secrets, nothing else. */
async function startBareJanus(): Promise<{ child: ChildProcess; url: string; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bare-janus-'));
  const port = await freePort();
  await writeFile(path.join(dir, 'janus.jcfg'), `general: {\n\tconfigs_folder = "${dir}"\n\tlog_to_stdout = true\n\tdebug_level = 3\n}\nmedia: {\n\trtp_port_range = "40000-45000"\n}\nnat: {\n}\nplugins: {\n\tdisable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so"\n}\ntransports: {\n\tdisable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"\n}\nevents: {\n\tbroadcast = false\n}\n`);
  await writeFile(path.join(dir, 'janus.transport.websockets.jcfg'), `general: {\n\tjson = "plain"\n\tws = true\n\tws_port = ${port}\n\tws_ip = "127.0.0.1"\n}\nadmin: {\n\tadmin_ws = false\n}\n`);
  await writeFile(path.join(dir, 'janus.plugin.videoroom.jcfg'), `general: {\n}\n`);
  const child = spawn('janus', ['-C', path.join(dir, 'janus.jcfg'), '-F', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  child.stderr!.resume();
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await sleep(100);
  }
  return {
    child, url: `ws://127.0.0.1:${port}`,
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function servePages(): Promise<{ url: string; close(): void }> {
  const media = path.join(ROOT, 'client/src/media');
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><meta charset="utf-8"><body><script type="module">
import { VoiceConnection } from '/media/voiceConnection.ts';
import * as bench from '/bench/stampedSource.js';
Object.assign(window, bench, { VoiceConnection, moduleReady: true });
</script>`);
      } else if (url.pathname === '/bench/stampedSource.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(path.join(import.meta.dirname, 'stampedSource.js')));
      } else if (/^\/media\/[a-zA-Z]+\.ts$/.test(url.pathname)) {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(stripTypeScriptTypes(await readFile(path.join(media, path.basename(url.pathname)), 'utf8')));
      } else res.writeHead(404).end();
    } catch {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function inside(): Promise<void> {
  const { chromium } = await import('playwright-core');
  const { startTestServer, backends } = await import('../../spec-tests/harness.ts');
  const viewerCounts = args.viewers!.split(',').map(Number);
  const seconds = Number(args.seconds);
  const warmup = Number(args.warmup);
  const codec = args.codec!;
  const allModes = args.modes!.split(',') as Mode[];
  const pages = await servePages();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  const chromiumVersion = browser.version();
  const srv = await startTestServer(backends()[0], { logLevel: 'warn' });
  const bare = await startBareJanus();
  const newPage = async () => {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => log(`page error: ${err}`));
    await page.goto(pages.url);
    await page.waitForFunction(() => (window as any).moduleReady === true);
    return page;
  };
  const runs: Array<Record<string, unknown>> = [];
  try {
    // Rounds alternate the two relays (and which goes first), so a change in the box's load
    // from other work hits both; figures are medians over the rounds.
    const order: Array<{ viewers: number; mode: Mode; round: number }> = [];
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const viewers of viewerCounts) {
        const modes = round % 2 ? [...allModes].reverse() : allModes;
        for (const mode of modes) order.push({ viewers, mode, round });
      }
    }
    for (const { viewers, mode, round } of order) {
      log(`round ${round + 1}: ${mode}, ${viewers} viewer(s): setting up`);
      const contexts: Array<import('playwright-core').Page> = [];
      try {
        const publisher = await newPage();
        contexts.push(publisher);
        const viewerPages: typeof contexts = [];
        for (let i = 0; i < viewers; i++) viewerPages.push(await newPage());
        contexts.push(...viewerPages);
        if (mode.startsWith('whisper')) {
          const owner = await srv.register();
          const users = [];
          for (let i = 0; i < viewers; i++) users.push(await srv.register());
          const room = await srv.request('POST', '/_matrix/client/v3/createRoom', {
            token: owner.access_token, body: { creation_content: { type: 'org.whisper.voice' }, invite: users.map((u) => u.user_id) },
          });
          const roomId = room.body.room_id as string;
          for (const u of users) await srv.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: u.access_token, body: {} });
          const join = (p: typeof publisher, token: string) => p.evaluate(async ({ hs, token, roomId, autoSubscribe }) => {
            const w = window as any;
            w.vc = new w.VoiceConnection({ homeserverUrl: hs, accessToken: token, playAudio: false, autoSubscribe });
            await w.vc.connect();
            await w.vc.join(roomId);
            await w.vc.setMuted(true);
          }, { hs: srv.url, token, roomId, autoSubscribe: workloadOf(mode) === '-video' ? [] : ['voice'] });
          await join(publisher, owner.access_token);
          const feed = await publisher.evaluate(async ({ codec, simulcast }) => {
            const w = window as any;
            return w.vc.goLive(w.stampedSource(1920, 1080, 60), { preset: '1080p60', content: 'motion', codecs: [codec], simulcast });
          }, { codec, simulcast: workloadOf(mode) === '-simulcast' });
          for (let i = 0; i < viewers; i++) {
            await join(viewerPages[i], users[i].access_token);
            await viewerPages[i].waitForFunction((f) => (window as any).vc.feeds.has(f), feed, { timeout: 20_000 });
            await viewerPages[i].evaluate(async (f) => {
              const w = window as any;
              const stream = await w.vc.watch(f);
              w.viewerPc = w.vc.received.get(f).pc;
              w.readStamps(stream);
            }, feed);
          }
          await publisher.evaluate(() => ((window as any).publisherPc = (window as any).vc.publishers.get('stream:main')));
        } else {
          // The same call on a bare Janus: each page's muted microphone (as Whisper's join), the stream, then every page
          // receives the others' voices (as Whisper's autoSubscribe) and the viewers the stream.
          const room = 1000 + runs.length;
          const mics: number[] = [];
          const micOf = (p: typeof publisher) => p.evaluate(async ({ url, room }) => {
            const w = window as any;
            w.janus ??= await w.bareJanus(url);
            return w.janus.publishMic(room) as Promise<number>;
          }, { url: bare.url, room });
          await publisher.evaluate(async ({ url, room, codec }) => {
            const w = window as any;
            w.janus = await w.bareJanus(url);
            await w.janus.createRoom(room, { codec, maxBitrate: 12_000_000 });
          }, { url: bare.url, room, codec });
          mics.push(await micOf(publisher));
          const feed = await publisher.evaluate(async ({ room, codec, simulcast }) => {
            const w = window as any;
            // Started where Whisper's client starts a 1080p60 stream (PRESETS['1080p60'].startBitrate): from a few hundred
            // kbit/s, a sender short of CPU stays at a reduced size, and the two would not send the same picture.
            return w.janus.publish(room, w.stampedSource(1920, 1080, 60), { codec, maxBitrate: 12_000_000, fps: 60, startBitrate: 8_000_000, simulcast });
          }, { room, codec, simulcast: workloadOf(mode) === '-simulcast' });
          // Viewers join once the publisher's media flows (as in the Whisper runs, where the feed is announced then).
          await publisher.waitForFunction(() => (window as any).publisherPc?.connectionState === 'connected', undefined, { timeout: 20_000 });
          for (const v of viewerPages) mics.push(await micOf(v));
          if (workloadOf(mode) !== '-video') {
            const pages = [publisher, ...viewerPages];
            for (let i = 0; i < pages.length; i++) {
              await pages[i].evaluate(async ({ room, feeds }) => {
                const w = window as any;
                for (const f of feeds) await w.janus.subscribe(room, f);
              }, { room, feeds: mics.filter((_, j) => j !== i) });
            }
          }
          for (const v of viewerPages) {
            await v.evaluate(async ({ room, feed }) => {
              const w = window as any;
              w.readStamps(await w.janus.subscribe(room, feed));
            }, { room, feed });
          }
        }
        await Promise.all(viewerPages.map((v) => v.waitForFunction(() => (window as any).latencies?.length > 0, undefined, { timeout: 30_000 }))).catch(async (err) => {
          const state = async (p: typeof publisher, which: string) => p.evaluate((which) => {
            const pc = (window as any)[which];
            return pc ? `${pc.connectionState}/${pc.iceConnectionState}, presented ${(window as any).framesPresented ?? '-'}` : 'no pc';
          }, which);
          throw new Error(`no frames reached the viewers (publisher ${await state(publisher, 'publisherPc')}; viewers ${await Promise.all(viewerPages.map((v) => state(v, 'viewerPc')))}): ${err}`);
        });
        log(`${mode}, ${viewers} viewer(s): media flowing; warming up ${warmup} s`);
        await sleep(warmup * 1000);
        const sentStats = () => publisher.evaluate(async () => {
          // Frames of the full-size layer (simulcast sends three: rid h); encode time of all layers (what the sender spends per frame).
          let frames = 0;
          let encodeS = 0;
          let bytes = 0;
          (await (window as any).publisherPc.getStats()).forEach((r: any) => {
            if (r.type === 'outbound-rtp' && r.kind === 'video') {
              if (!r.rid || r.rid === 'h') frames = r.framesEncoded ?? 0;
              encodeS += r.totalEncodeTime ?? 0;
              bytes += r.bytesSent ?? 0;
            }
          });
          return { frames, encodeS, bytes, drawn: (window as any).framesDrawn };
        });
        const recvStats = (v: typeof publisher) => v.evaluate(async () => {
          const out = { frames: 0, bytes: 0, packets: 0, lost: 0, freezes: 0, width: 0, height: 0, jitterS: 0, emitted: 0, decodeS: 0, keyFrames: 0, latencies: (window as any).latencies.length };
          (await (window as any).viewerPc.getStats()).forEach((r: any) => {
            if (r.type === 'inbound-rtp' && r.kind === 'video') {
              Object.assign(out, {
                frames: r.framesDecoded ?? 0, bytes: r.bytesReceived ?? 0, packets: r.packetsReceived ?? 0, lost: r.packetsLost ?? 0, freezes: r.freezeCount ?? 0, width: r.frameWidth, height: r.frameHeight,
                jitterS: r.jitterBufferDelay ?? 0, emitted: r.jitterBufferEmittedCount ?? 0, decodeS: r.totalDecodeTime ?? 0, keyFrames: r.keyFramesDecoded ?? 0,
              });
            }
          });
          return out;
        });
        const janusPid = mode.startsWith('bare') ? bare.child.pid : srv.hs.services.voice.mediaServerPid;
        const loadAverage = os.loadavg().map((l) => Math.round(l * 100) / 100);
        const [s0, r0, j0, n0, t0] = [await sentStats(), await Promise.all(viewerPages.map(recvStats)), ticksOf(janusPid), ticksOf(process.pid), Date.now()];
        const [cpu0, busy] = [sampleCpu(process.pid), machineBusy()];
        await sleep(seconds * 1000);
        const [cpu, machineBusyPct] = [cpuBetween(cpu0, sampleCpu(process.pid)), busy()];
        const [s1, r1, j1, n1, t1] = [await sentStats(), await Promise.all(viewerPages.map(recvStats)), ticksOf(janusPid), ticksOf(process.pid), Date.now()];
        const secs = (t1 - t0) / 1000;
        // The RTP header extensions Janus offered the (first) viewer's video (relay settings such as playout-delay show here).
        const viewerVideoExtensions = await viewerPages[0].evaluate(() => {
          const sdp: string = (window as any).viewerPc.remoteDescription?.sdp ?? '';
          const video = sdp.split(/\r?\nm=/).find((m) => m.startsWith('video')) ?? '';
          return [...video.matchAll(/a=extmap:\d+ (\S+)/g)].map((m) => m[1]);
        });
        const perViewer = await Promise.all(viewerPages.map(async (v, i) => {
          const lat = ((await v.evaluate((from) => (window as any).latencies.slice(from), r0[i].latencies)) as number[]).sort((a, b) => a - b);
          return {
            receivedFps: (r1[i].frames - r0[i].frames) / secs,
            width: r1[i].width, height: r1[i].height, receivedMbps: ((r1[i].bytes - r0[i].bytes) * 8) / secs / 1e6,
            latencyP50Ms: percentile(lat, 50), latencyP95Ms: percentile(lat, 95), latencySamples: lat.length,
            freezes: r1[i].freezes - r0[i].freezes,
            // Where a frame's time goes at the viewer: waiting in the jitter buffer, and decoding.
            jitterBufferMs: ((r1[i].jitterS - r0[i].jitterS) / Math.max(1, r1[i].emitted - r0[i].emitted)) * 1000,
            decodeMs: ((r1[i].decodeS - r0[i].decodeS) / Math.max(1, r1[i].frames - r0[i].frames)) * 1000,
            keyFrames: r1[i].keyFrames - r0[i].keyFrames,
            loss: (r1[i].lost - r0[i].lost) / Math.max(1, r1[i].packets - r0[i].packets + r1[i].lost - r0[i].lost),
          };
        }));
        const run = {
          mode, viewers, round: round + 1, loadAverage, machineBusyPct,
          sentFps: (s1.frames - s0.frames) / secs, sentMbps: ((s1.bytes - s0.bytes) * 8) / secs / 1e6, drawnFps: (s1.drawn - s0.drawn) / secs,
          encodeMs: ((s1.encodeS - s0.encodeS) / Math.max(1, s1.frames - s0.frames)) * 1000,
          receivedFps: perViewer.reduce((a, v) => a + v.receivedFps, 0) / viewers,
          // What the relay delivered of what the sender sent: the sender's own pace (CPU on a busy box) factored out.
          deliveredRatio: perViewer.reduce((a, v) => a + v.receivedFps, 0) / viewers / Math.max(1e-9, (s1.frames - s0.frames) / secs),
          latencyP50Ms: Math.max(...perViewer.map((v) => v.latencyP50Ms ?? Infinity)),
          latencyP95Ms: Math.max(...perViewer.map((v) => v.latencyP95Ms ?? Infinity)),
          janusCpuPct: ((j1 - j0) / 100 / secs) * 100,
          nodeCpuPct: ((n1 - n0) / 100 / secs) * 100,
          // All of this run's Chromium processes (the sender's and the viewers' pages, GPU, network, audio), % of one core.
          browserCpuPct: Object.entries(cpu).filter(([k]) => k.startsWith('chromium')).reduce((a, [, v]) => a + v, 0),
          cpu,
          // What the rest of the box used meanwhile (all cores' busy time less this run's processes), % of one core:
          // the load average counts this run's own threads too.
          otherCpuPct: Math.max(0, (machineBusyPct / 100) * os.cpus().length * 100 - Object.values(cpu).reduce((a, v) => a + v, 0)),
          viewerVideoExtensions,
          perViewer,
        };
        log(`${mode}, ${viewers} viewer(s): sent ${run.sentFps.toFixed(1)} fps (${run.sentMbps.toFixed(1)} Mbit/s), received ${run.receivedFps.toFixed(1)} fps at ${perViewer.map((v) => `${v.width}x${v.height}`).join('/')}, p50 ${run.latencyP50Ms} ms, p95 ${run.latencyP95Ms} ms, encode ${run.encodeMs.toFixed(1)} ms, key frames ${perViewer.map((v) => v.keyFrames).join('/')}, jitter buffer ${perViewer.map((v) => v.jitterBufferMs.toFixed(1)).join('/')} ms, janus ${run.janusCpuPct.toFixed(0)}%, chromium ${run.browserCpuPct.toFixed(0)}% CPU, others ${run.otherCpuPct.toFixed(0)}%; load ${loadAverage[0]}`);
        runs.push(run);
      } finally {
        for (const p of contexts) await p.context().close().catch(() => {});
      }
    }
  } finally {
    await browser.close().catch(() => {});
    await bare.close();
    await srv.close();
    pages.close();
  }
  const median = (xs: number[]) => {
    const sorted = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (!sorted.length) return NaN;
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const summary = (mode: string, viewers: number) => {
    const mine = runs.filter((r) => r.mode === mode && r.viewers === viewers) as any[];
    if (!mine.length) return undefined;
    const m = (k: string) => median(mine.map((r) => r[k]));
    return {
      mode, viewers, rounds: mine.length, sentFps: m('sentFps'), sentMbps: m('sentMbps'), receivedFps: m('receivedFps'), latencyP50Ms: m('latencyP50Ms'), latencyP95Ms: m('latencyP95Ms'),
      receivedHeight: median(mine.flatMap((r) => r.perViewer.map((v: any) => v.height))), deliveredRatio: m('deliveredRatio'), encodeMs: m('encodeMs'), keyFramesPerViewer: median(mine.flatMap((r) => r.perViewer.map((v: any) => v.keyFrames))), jitterBufferMs: median(mine.flatMap((r) => r.perViewer.map((v: any) => v.jitterBufferMs))), janusCpuPct: m('janusCpuPct'), nodeCpuPct: m('nodeCpuPct'),
      browserCpuPct: m('browserCpuPct'), machineBusyPct: m('machineBusyPct'), otherCpuPct: m('otherCpuPct'),
    };
  };
  const medians = viewerCounts.flatMap((v) => allModes.map((mode) => summary(mode, v))).filter(Boolean);
  const ratios: Record<string, unknown> = {};
  for (const viewers of viewerCounts) {
    for (const mode of allModes.filter((m) => m.startsWith('whisper'))) {
      const baseline: Mode = `bare${workloadOf(mode)}`;
      const [w, b] = [summary(mode, viewers), summary(baseline, viewers)];
      if (!w || !b) continue;
      // Each round runs the relays back to back: its own difference is less touched by the box's load changing between rounds.
      const pairs = (runs as any[]).filter((r) => r.mode === mode && r.viewers === viewers).flatMap((r) => {
        const base = (runs as any[]).find((x) => x.mode === baseline && x.viewers === viewers && x.round === r.round);
        return base ? [{ p50: r.latencyP50Ms - base.latencyP50Ms, fps: r.receivedFps / base.receivedFps, delivered: r.deliveredRatio / base.deliveredRatio, cpu: r.browserCpuPct / base.browserCpuPct }] : [];
      });
      const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)];
      ratios[`${mode}_${viewers}_viewer${viewers > 1 ? 's' : ''}`] = {
        baseline, workload: WORKLOADS[workloadOf(mode)],
        pairedLatencyP50DeltaMs: median(pairs.map((x) => x.p50)),
        pairedLatencyP50DeltaRangeMs: range(pairs.map((x) => x.p50)),
        pairedReceivedFpsRatio: median(pairs.map((x) => x.fps)),
        pairedReceivedFpsRatioRange: range(pairs.map((x) => x.fps)),
        // What the Whisper pages cost the browsers against the bare ones (the same work should cost the same).
        pairedBrowserCpuRatio: median(pairs.map((x) => x.cpu)),
        deliveredRatioVsBare: median(pairs.map((x) => x.delivered)),
        receivedFpsRatio: b.receivedFps ? w.receivedFps / b.receivedFps : null,
        sentFpsRatio: b.sentFps ? w.sentFps / b.sentFps : null,
        latencyP50DeltaMs: w.latencyP50Ms - b.latencyP50Ms,
        latencyP95DeltaMs: w.latencyP95Ms - b.latencyP95Ms,
        goal: 'receivedFpsRatio >= 0.98 and latencyP50DeltaMs <= 10',
        goalMet: b.receivedFps > 0 && w.receivedFps / b.receivedFps >= 0.98 && w.latencyP50Ms - b.latencyP50Ms <= 10,
      };
    }
  }
  const load = os.loadavg();
  process.stdout.write(JSON.stringify({
    benchmark: 'voice-relay', codec, resolution: '1920x1080', targetFps: 60, seconds, cores: os.cpus().length, loadAverage: load.map((l) => Math.round(l * 100) / 100),
    chromium: chromiumVersion, workloads: WORKLOADS, medians, ratios, runs,
  }, null, 2) + '\n');
}
