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
 * Environment: BENCH_MEDIA_MB (100), BENCH_MEDIA_RUNS (7), BENCH_THUMBNAILS (60),
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
import { envNumber, machineFacts } from '../shared/env.ts';
import { forkServer, stopChild, type ReadyLine } from '../shared/serverChild.ts';
import { sampleRss } from './rss.ts';
import type { ServeOptions } from './serve.ts';
import { sharpRate, thumbnailRate, writeLargeJpeg, type Rate } from './thumbnails.ts';
import { curlVersion, downloadFile, downloadUrl, kernelCopy, streamCopy, uploadFile, uploadFileAsync } from './transfers.ts';

const settings = {
  fileMb: envNumber('BENCH_MEDIA_MB', 100),
  runs: envNumber('BENCH_MEDIA_RUNS', 7),
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
  /** CPU time the child has used so far (user + system, all threads), in ms. */
  cpuMs(): Promise<number>;
}

async function startServer(opts: ServeOptions): Promise<Server> {
  const { child, ready } = await forkServer<ReadyLine>(SERVE, opts);
  cleanups.push(() => stopChild(child, ready.pid));
  const ask = async <T>(type: string): Promise<T> => {
    const reply = once(child, 'message') as Promise<[T]>;
    child.send({ type });
    return (await reply)[0];
  };
  const idleRss = async () => {
    await sleep(settings.idleMs);
    return (await ask<{ rss: number }>('rss')).rss;
  };
  const cpuMs = async () => (await ask<{ micros: number }>('cpu')).micros / 1000;
  return { url: ready.url, pid: ready.pid, idleRss, cpuMs };
}

const mbPerSec = (bytes: number, seconds: number) => round(bytes / MB / seconds, 1);

/** The transfers of a round; each is timed right after a copy of the same file, its baseline. */
const TRANSFERS = ['download', 'bareDownload', 'upload', 'asyncUpload', 'bareUpload'] as const;
type Transfer = (typeof TRANSFERS)[number];

interface Round {
  /**
   * Seconds, and the seconds of the copy just before it (with an fsync for uploads); the CPU
   * time the server used for the transfer and this process for the copy, in ms.
   */
  transfers: Record<Transfer, { seconds: number; copySeconds: number; serverCpuMs: number; copyCpuMs: number }>;
  copyFile: number;
}

/** Rate of a transfer over the rate of its baseline copy, or of another transfer of the round. */
const RATIOS = {
  uploadOverStreamCopyFsync: (r) => r.transfers.upload.copySeconds / r.transfers.upload.seconds,
  asyncUploadOverStreamCopyFsync: (r) => r.transfers.asyncUpload.copySeconds / r.transfers.asyncUpload.seconds,
  barePipeUploadOverStreamCopyFsync: (r) => r.transfers.bareUpload.copySeconds / r.transfers.bareUpload.seconds,
  uploadOverBarePipe: (r) => r.transfers.bareUpload.seconds / r.transfers.upload.seconds,
  downloadOverStreamCopy: (r) => r.transfers.download.copySeconds / r.transfers.download.seconds,
  bareServeDownloadOverStreamCopy: (r) => r.transfers.bareDownload.copySeconds / r.transfers.bareDownload.seconds,
  downloadOverBareServe: (r) => r.transfers.bareDownload.seconds / r.transfers.download.seconds,
  uploadOverCopyFile: (r) => r.copyFile / r.transfers.upload.seconds,
  downloadOverCopyFile: (r) => r.copyFile / r.transfers.download.seconds,
} satisfies Record<string, (r: Round) => number>;
type RatioName = keyof typeof RATIOS;

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
  const whisperFile = downloadUrl(server.url, contentUri);
  const moves: Record<Transfer, { upload: boolean; to: Server; move: () => Promise<{ seconds: number }> }> = {
    download: { upload: false, to: server, move: () => downloadFile(whisperFile, user.accessToken, saved, bytes) },
    bareDownload: { upload: false, to: bare, move: () => downloadFile(bare.url, 'none', saved, bytes) },
    upload: { upload: true, to: server, move: () => uploadFile(server.url, user.accessToken, source) },
    asyncUpload: { upload: true, to: server, move: () => uploadFileAsync(server.url, user.accessToken, source) },
    bareUpload: { upload: true, to: bare, move: () => uploadFile(bare.url, 'none', source) },
  };
  for (let run = 1; run <= settings.runs; run++) {
    const copyFile = (await kernelCopy(source, copy)).seconds;
    await rm(copy);
    const transfers = {} as Round['transfers'];
    for (const name of TRANSFERS) {
      const { upload, to, move } = moves[name];
      const copyCpu = process.cpuUsage();
      const copySeconds = (await streamCopy(source, copy, upload)).seconds;
      const { user: copyUser, system: copySystem } = process.cpuUsage(copyCpu);
      await rm(copy);
      const cpuBefore = await to.cpuMs();
      const sampler = sampleRss(server.pid);
      const { seconds } = await move();
      const rss = sampler.stop() ?? 0;
      const serverCpuMs = (await to.cpuMs()) - cpuBefore;
      if (name === 'download') downRss = Math.max(downRss, rss);
      if (name === 'upload' || name === 'asyncUpload') upRss = Math.max(upRss, rss);
      if (!upload) await rm(saved);
      transfers[name] = { seconds, copySeconds, serverCpuMs, copyCpuMs: (copyUser + copySystem) / 1000 };
    }
    rounds.push({ transfers, copyFile });
    const t = (name: Transfer) => `${mbPerSec(bytes, transfers[name].seconds)} MB/s (copy ${mbPerSec(bytes, transfers[name].copySeconds)})`;
    log(`run ${run}: download ${t('download')}, bare ${t('bareDownload')}; upload ${t('upload')}, async ${t('asyncUpload')}, bare ${t('bareUpload')}; copyFile ${mbPerSec(bytes, copyFile)} MB/s`);
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

  const medianRate = (seconds: number[]) => mbPerSec(bytes, median(seconds));
  const transferRate = (name: Transfer) => medianRate(rounds.map((r) => r.transfers[name].seconds));
  const copyRate = (upload: boolean) => medianRate(rounds.flatMap((r) => TRANSFERS.filter((n) => moves[n].upload === upload).map((n) => r.transfers[n].copySeconds)));
  const throughput = {
    uploadMBps: transferRate('upload'),
    asyncUploadMBps: transferRate('asyncUpload'),
    barePipeUploadMBps: transferRate('bareUpload'),
    downloadMBps: transferRate('download'),
    bareServeDownloadMBps: transferRate('bareDownload'),
    streamCopyMBps: copyRate(false),
    streamCopyFsyncMBps: copyRate(true),
    copyFileMBps: medianRate(rounds.map((r) => r.copyFile)),
  };
  const ratioRounds = Object.fromEntries(Object.entries(RATIOS).map(([name, ratio]) => [name, rounds.map((r) => round(ratio(r), 3))])) as Record<RatioName, number[]>;
  const ratios = {
    ...(Object.fromEntries(Object.entries(ratioRounds).map(([name, xs]) => [name, median(xs)])) as Record<RatioName, number>),
    thumbnailsMadeOverSharp: round(made.perSecond / direct.perSecond, 3),
  };
  // CPU time depends far less on the machine's load than the rates do.
  const cpuMs = (pick: (t: Round['transfers'][Transfer]) => number, names: readonly Transfer[]) => round(median(rounds.flatMap((r) => names.map((n) => pick(r.transfers[n])))), 0);
  const cpu = {
    whisperDownloadMs: cpuMs((t) => t.serverCpuMs, ['download']),
    bareServeDownloadMs: cpuMs((t) => t.serverCpuMs, ['bareDownload']),
    streamCopyMs: cpuMs((t) => t.copyCpuMs, ['download', 'bareDownload']),
    whisperUploadMs: cpuMs((t) => t.serverCpuMs, ['upload']),
    whisperAsyncUploadMs: cpuMs((t) => t.serverCpuMs, ['asyncUpload']),
    barePipeUploadMs: cpuMs((t) => t.serverCpuMs, ['bareUpload']),
    streamCopyFsyncMs: cpuMs((t) => t.copyCpuMs, ['upload', 'asyncUpload', 'bareUpload']),
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
      upload: 'streamCopyFsync: this process reads the file and writes a copy in 1 MiB pieces, fsync at the end (the server fsyncs an upload before it answers); one right before each upload',
      download: 'streamCopy: the same without the fsync (the client saving a download does not sync it); one right before each download',
      info: 'copyFile (the kernel copies, no bytes through a process) is given for reference, not as a goal',
    },
    throughput,
    ratios,
    ratioRounds,
    cpuMsPerTransfer: { ...cpu, note: 'median CPU time (user + system, all threads) of the server for one transfer of the file, and of this process for one copy; the client (curl) is not counted' },
    memory,
    thumbnails: { source: '4000x3000 JPEG', concurrency: settings.thumbnailConcurrency, made: rates(made), cached: rates(cached), sharpInProcess: rates(direct) },
    goals: { ...goals, allMet: Object.values(goals).every((g) => g.met) },
    machine: machineFacts(),
    settings,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await runMain(main, cleanUp, log);
