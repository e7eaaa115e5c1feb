/**
 * `npm run bench:media`: the media repository against the disk it sits on.
 *
 * A 100 MB file is uploaded to a real Whisper (in a child process; at once, and to an id
 * created first) and downloaded back with curl (transfers.ts), and copied on disk by this
 * process, in every round. Each transfer is compared with the copy that does the same work on
 * one machine (`baselines` in the JSON): an upload with a copy that fsyncs at the end, as the
 * server does before it answers; a download, saved to a file by the client, with a copy that
 * does not. A ratio is taken within each round, against that round's copy, and the report
 * gives the median over rounds: the copies' own speed swings with the machine's load (2 shared
 * cores here), and a copy and a transfer a second apart see the same load.
 *
 * Each round also moves the file to and from a bare node:http server (pipeServer.ts: a body
 * piped into a file; fs.createReadStream piped out): the floor on this machine, so
 * `uploadOverBarePipe` and `downloadOverBareServe` are Whisper's own overhead. The server's RSS
 * is sampled while the bytes flow, against its idle baseline: streaming means it stays flat.
 * Then thumbnails per second of a 4000×3000 JPEG: made anew (every size different), from the
 * cache (one size), and sharp doing the same resizes in this process as the baseline.
 *
 * Progress goes to stderr; one JSON document goes to stdout at the end.
 * Environment: BENCH_MEDIA_MB (100), BENCH_MEDIA_RUNS (5), BENCH_THUMBNAILS (60),
 * BENCH_THUMBNAIL_CONCURRENCY (2), BENCH_IDLE_MS (2000).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { round } from '../http/load.ts';
import { register } from '../http/matrix.ts';
import { runMain } from '../shared/runMain.ts';
import { envNumber } from '../shared/env.ts';
import { forkServer, stopChild, type ReadyLine } from '../shared/serverChild.ts';
import { sampleRss } from './rss.ts';
import type { ServeOptions } from './serve.ts';
import { sharpRate, thumbnailRate, writeLargeJpeg, type Rate } from './thumbnails.ts';
import { curlVersion, downloadFile, downloadUrl, kernelCopy, streamCopy, uploadFile, uploadFileAsync } from './transfers.ts';

const settings = {
  fileMb: envNumber('BENCH_MEDIA_MB', 100),
  runs: envNumber('BENCH_MEDIA_RUNS', 5),
  thumbnails: envNumber('BENCH_THUMBNAILS', 60),
  thumbnailConcurrency: envNumber('BENCH_THUMBNAIL_CONCURRENCY', 2),
  idleMs: envNumber('BENCH_IDLE_MS', 2000),
};
/** Streaming goals: at least half the disk copy's rate, and RSS within this of idle. */
const GOALS = { throughputRatioMin: 0.5, rssGrowthMbMax: 64 };

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));
const MB = 1_000_000;
const MiB = 1024 * 1024;
const log = (msg: string) => console.error(`[bench:media] ${msg}`);
const mib = (bytes: number | null) => (bytes === null ? null : round(bytes / MiB, 1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    await cleanups.pop()!().catch((err: unknown) => log(`cleanup step failed: ${(err as Error).message}`));
  }
}

async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; left -= MiB) {
    if (!out.write(randomBytes(Math.min(MiB, left)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface Server {
  url: string;
  pid: number;
  /** RSS after a GC in the child. */
  idleRss(): Promise<number>;
}

async function startServer(opts: ServeOptions): Promise<Server> {
  const { child, ready } = await forkServer<ReadyLine>(SERVE, opts);
  cleanups.push(() => stopChild(child, ready.pid));
  const idleRss = async () => {
    await sleep(settings.idleMs);
    const reply = once(child, 'message') as Promise<[{ type: string; rss: number }]>;
    child.send({ type: 'rss' });
    return (await reply)[0].rss;
  };
  return { url: ready.url, pid: ready.pid, idleRss };
}

const mbPerSec = (bytes: number, seconds: number) => round(bytes / MB / seconds, 1);

/** Seconds each way of moving the file took in one round. */
interface Round {
  copyFile: number;
  streamCopy: number;
  streamCopyFsync: number;
  download: number;
  bareDownload: number;
  upload: number;
  asyncUpload: number;
  bareUpload: number;
}

/** Rate of `of` over rate of `over`, both timed in the same round. */
type Ratio = [of: keyof Round, over: keyof Round];
const RATIOS = {
  uploadOverStreamCopyFsync: ['upload', 'streamCopyFsync'],
  asyncUploadOverStreamCopyFsync: ['asyncUpload', 'streamCopyFsync'],
  uploadOverBarePipe: ['upload', 'bareUpload'],
  barePipeUploadOverStreamCopyFsync: ['bareUpload', 'streamCopyFsync'],
  downloadOverStreamCopy: ['download', 'streamCopy'],
  downloadOverBareServe: ['download', 'bareDownload'],
  bareServeDownloadOverStreamCopy: ['bareDownload', 'streamCopy'],
  uploadOverCopyFile: ['upload', 'copyFile'],
  downloadOverCopyFile: ['download', 'copyFile'],
} satisfies Record<string, Ratio>;

async function main(): Promise<void> {
  const client = await curlVersion();
  log(`settings ${JSON.stringify(settings)}; ${os.cpus().length} CPUs, node ${process.version}, ${client}`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'whisper-bench-media-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const bytes = Math.round(settings.fileMb * MB);
  const source = path.join(work, 'source.bin');
  await writeRandomFile(source, bytes);

  const server = await startServer({ kind: 'whisper', dataDir: path.join(work, 'whisper') });
  log(`whisper child pid ${server.pid} on ${server.url}`);
  const bare = await startServer({ kind: 'pipe', dataDir: path.join(work, 'pipe'), serveFile: source });
  log(`bare server child pid ${bare.pid} on ${bare.url}`);
  const idleBefore = await server.idleRss();
  const user = await register(server.url);
  // Untimed: the file the rounds download, and every path of the server run once.
  const { contentUri } = await uploadFile(server.url, user.accessToken, source);

  const rounds: Round[] = [];
  let upRss = 0;
  let downRss = 0;
  const copy = path.join(work, 'copy.bin');
  const saved = path.join(work, 'downloaded.bin');
  const timed = async (move: () => Promise<{ seconds: number }>, leaves?: string) => {
    const { seconds } = await move();
    if (leaves) await rm(leaves);
    return seconds;
  };
  for (let run = 1; run <= settings.runs; run++) {
    const copyFile = await timed(() => kernelCopy(source, copy), copy);
    const plainCopy = await timed(() => streamCopy(source, copy, false), copy);
    let sampler = sampleRss(server.pid);
    const download = await timed(() => downloadFile(downloadUrl(server.url, contentUri), user.accessToken, saved, bytes), saved);
    downRss = Math.max(downRss, sampler.stop() ?? 0);
    const bareDownload = await timed(() => downloadFile(bare.url, 'none', saved, bytes), saved);
    const fsyncCopy = await timed(() => streamCopy(source, copy, true), copy);
    const bareUpload = await timed(() => uploadFile(bare.url, 'none', source));
    sampler = sampleRss(server.pid);
    const upload = await timed(() => uploadFile(server.url, user.accessToken, source));
    const asyncUpload = await timed(() => uploadFileAsync(server.url, user.accessToken, source));
    upRss = Math.max(upRss, sampler.stop() ?? 0);
    const r: Round = { copyFile, streamCopy: plainCopy, streamCopyFsync: fsyncCopy, download, bareDownload, upload, asyncUpload, bareUpload };
    rounds.push(r);
    const rate = (k: keyof Round) => mbPerSec(bytes, r[k]);
    log(`run ${run}: download ${rate('download')} MB/s (bare ${rate('bareDownload')}) vs stream copy ${rate('streamCopy')}: ${round(r.streamCopy / r.download, 2)}x; ` +
      `upload ${rate('upload')} MB/s (async ${rate('asyncUpload')}, bare ${rate('bareUpload')}) vs fsync copy ${rate('streamCopyFsync')}: ${round(r.streamCopyFsync / r.upload, 2)}x; copyFile ${rate('copyFile')} MB/s`);
  }
  const idleAfter = await server.idleRss();

  const photo = path.join(work, 'photo.jpg');
  await writeLargeJpeg(photo);
  const { contentUri: photoUri } = await uploadFile(server.url, user.accessToken, photo);
  const thumbSampler = sampleRss(server.pid);
  const made = await thumbnailRate(server.url, user.accessToken, photoUri, settings.thumbnails, settings.thumbnailConcurrency, true);
  const thumbRss = thumbSampler.stop();
  // Warm the one cached size, then measure reads of it.
  await thumbnailRate(server.url, user.accessToken, photoUri, 1, 1, false);
  const cached = await thumbnailRate(server.url, user.accessToken, photoUri, settings.thumbnails * 5, settings.thumbnailConcurrency, false);
  const direct = await sharpRate(photo, settings.thumbnails, settings.thumbnailConcurrency);
  const rates = (r: Rate) => ({ count: r.count, seconds: round(r.seconds, 2), perSecond: round(r.perSecond, 1) });
  log(`thumbnails of 4000x3000: made ${round(made.perSecond, 1)}/s, cached ${round(cached.perSecond, 1)}/s, sharp in-process ${round(direct.perSecond, 1)}/s`);

  const medianRate = (k: keyof Round) => mbPerSec(bytes, median(rounds.map((r) => r[k])));
  const throughput = {
    uploadMBps: medianRate('upload'),
    asyncUploadMBps: medianRate('asyncUpload'),
    barePipeUploadMBps: medianRate('bareUpload'),
    downloadMBps: medianRate('download'),
    bareServeDownloadMBps: medianRate('bareDownload'),
    streamCopyMBps: medianRate('streamCopy'),
    streamCopyFsyncMBps: medianRate('streamCopyFsync'),
    copyFileMBps: medianRate('copyFile'),
  };
  const perRound = (of: keyof Round, over: keyof Round) => rounds.map((r) => round(r[over] / r[of], 3));
  const ratioRounds = Object.fromEntries(Object.entries(RATIOS).map(([name, [of, over]]) => [name, perRound(of, over)])) as Record<keyof typeof RATIOS, number[]>;
  const ratios = {
    ...Object.fromEntries(Object.entries(ratioRounds).map(([name, xs]) => [name, median(xs)])) as Record<keyof typeof RATIOS, number>,
    thumbnailsMadeOverSharp: round(made.perSecond / direct.perSecond, 3),
  };
  const memory = {
    idleRssMb: mib(idleBefore),
    maxRssDuringUploadMb: mib(upRss),
    maxRssDuringDownloadMb: mib(downRss),
    maxRssDuringThumbnailsMb: mib(thumbRss),
    idleRssAfterTransfersMb: mib(idleAfter),
  };
  const growthMb = (Math.max(upRss, downRss) - idleBefore) / MiB;
  const goals = {
    uploadRatio: { value: ratios.uploadOverStreamCopyFsync, met: ratios.uploadOverStreamCopyFsync >= GOALS.throughputRatioMin },
    asyncUploadRatio: { value: ratios.asyncUploadOverStreamCopyFsync, met: ratios.asyncUploadOverStreamCopyFsync >= GOALS.throughputRatioMin },
    downloadRatio: { value: ratios.downloadOverStreamCopy, met: ratios.downloadOverStreamCopy >= GOALS.throughputRatioMin },
    rssGrowthWhileStreamingMb: { value: round(growthMb, 1), max: GOALS.rssGrowthMbMax, met: growthMb <= GOALS.rssGrowthMbMax },
  };
  const report = {
    file: { megabytes: settings.fileMb, runs: settings.runs, statistic: 'median over rounds; each ratio is taken within its round' },
    client: client,
    baselines: {
      upload: 'streamCopyFsync: this process reads the file and writes a copy in 1 MiB pieces, fsync at the end (the server fsyncs an upload before it answers)',
      download: 'streamCopy: the same without the fsync (the client saving a download does not sync it)',
      info: 'copyFile (the kernel copies, no bytes through a process) is given for reference, not as a goal',
    },
    throughput,
    ratios,
    ratioRounds: { uploadOverStreamCopyFsync: ratioRounds.uploadOverStreamCopyFsync, asyncUploadOverStreamCopyFsync: ratioRounds.asyncUploadOverStreamCopyFsync, downloadOverStreamCopy: ratioRounds.downloadOverStreamCopy },
    memory,
    thumbnails: { source: '4000x3000 JPEG', concurrency: settings.thumbnailConcurrency, made: rates(made), cached: rates(cached), sharpInProcess: rates(direct) },
    goals: { ...goals, allMet: Object.values(goals).every((g) => g.met) },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, totalMemMb: round(os.totalmem() / MiB, 0), loadAverage1m: round(os.loadavg()[0], 1), node: process.version, platform: `${process.platform}-${process.arch}` },
    settings,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await runMain(main, cleanUp, log);
