/**
 * `npm run bench:media`: the media repository against the disk it sits on.
 *
 * A 100 MB file is uploaded to a real Whisper (in a child process; at once, and to an id
 * created first) and downloaded back, and copied on disk by this process in the same run;
 * throughput is reported as MB/s and as ratios to the copy (uploads against a copy that
 * fsyncs, as the server does before it answers; download, saved to a file, against one that
 * does not). Each run also uploads the file to a bare node:http server that only pipes it
 * into a file (pipeServer.ts): the upload's floor on this machine, so `uploadOverBarePipe` is
 * Whisper's own overhead. The server's RSS is sampled while the bytes flow, against its idle
 * baseline: streaming means it stays flat. Then
 * thumbnails per second of a 4000×3000 JPEG: made anew (every size different), from the cache
 * (one size), and sharp doing the same resizes in this process as the baseline.
 *
 * Progress goes to stderr; one JSON document goes to stdout at the end.
 * Environment: BENCH_MEDIA_MB (100), BENCH_MEDIA_RUNS (3), BENCH_THUMBNAILS (60),
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
import { downloadFile, kernelCopy, streamCopy, uploadFile, uploadFileAsync } from './transfers.ts';

const settings = {
  fileMb: envNumber('BENCH_MEDIA_MB', 100),
  runs: envNumber('BENCH_MEDIA_RUNS', 3),
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

async function startServer(kind: ServeOptions['kind'], dataDir: string): Promise<Server> {
  const opts: ServeOptions = { kind, dataDir };
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

async function main(): Promise<void> {
  log(`settings ${JSON.stringify(settings)}; ${os.cpus().length} CPUs, node ${process.version}`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'whisper-bench-media-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const bytes = Math.round(settings.fileMb * MB);
  const source = path.join(work, 'source.bin');
  await writeRandomFile(source, bytes);

  const server = await startServer('whisper', path.join(work, 'whisper'));
  log(`whisper child pid ${server.pid} on ${server.url}`);
  const pipe = await startServer('pipe', path.join(work, 'pipe'));
  log(`bare pipe child pid ${pipe.pid} on ${pipe.url}`);
  const idleBefore = await server.idleRss();
  const user = await register(server.url);

  const copies = { kernel: [] as number[], stream: [] as number[], streamFsync: [] as number[] };
  const up: number[] = [];
  const pipeUp: number[] = [];
  const asyncUp: number[] = [];
  const down: number[] = [];
  let upRss = 0;
  let downRss = 0;
  for (let run = 1; run <= settings.runs; run++) {
    const copy = path.join(work, 'copy.bin');
    copies.kernel.push((await kernelCopy(source, copy)).seconds);
    await rm(copy);
    copies.stream.push((await streamCopy(source, copy, false)).seconds);
    await rm(copy);
    copies.streamFsync.push((await streamCopy(source, copy, true)).seconds);
    await rm(copy);
    pipeUp.push((await uploadFile(pipe.url, 'none', source)).seconds);

    let sampler = sampleRss(server.pid);
    const uploaded = await uploadFile(server.url, user.accessToken, source);
    up.push(uploaded.seconds);
    asyncUp.push((await uploadFileAsync(server.url, user.accessToken, source)).seconds);
    upRss = Math.max(upRss, sampler.stop() ?? 0);

    sampler = sampleRss(server.pid);
    const saved = path.join(work, 'downloaded.bin');
    down.push((await downloadFile(server.url, user.accessToken, uploaded.contentUri, saved, bytes)).seconds);
    downRss = Math.max(downRss, sampler.stop() ?? 0);
    await rm(saved);
    log(`run ${run}: upload ${mbPerSec(bytes, uploaded.seconds)} MB/s (async ${mbPerSec(bytes, asyncUp.at(-1)!)}, bare pipe ${mbPerSec(bytes, pipeUp.at(-1)!)}), download ${mbPerSec(bytes, down.at(-1)!)} MB/s, ` +
      `stream copy ${mbPerSec(bytes, copies.stream.at(-1)!)} MB/s (fsync ${mbPerSec(bytes, copies.streamFsync.at(-1)!)}), copyFile ${mbPerSec(bytes, copies.kernel.at(-1)!)} MB/s`);
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

  const rate = {
    uploadMBps: mbPerSec(bytes, median(up)),
    asyncUploadMBps: mbPerSec(bytes, median(asyncUp)),
    barePipeUploadMBps: mbPerSec(bytes, median(pipeUp)),
    downloadMBps: mbPerSec(bytes, median(down)),
    streamCopyMBps: mbPerSec(bytes, median(copies.stream)),
    streamCopyFsyncMBps: mbPerSec(bytes, median(copies.streamFsync)),
    copyFileMBps: mbPerSec(bytes, median(copies.kernel)),
  };
  const ratios = {
    uploadOverStreamCopyFsync: round(rate.uploadMBps / rate.streamCopyFsyncMBps, 3),
    asyncUploadOverStreamCopyFsync: round(rate.asyncUploadMBps / rate.streamCopyFsyncMBps, 3),
    uploadOverBarePipe: round(rate.uploadMBps / rate.barePipeUploadMBps, 3),
    barePipeUploadOverStreamCopyFsync: round(rate.barePipeUploadMBps / rate.streamCopyFsyncMBps, 3),
    downloadOverStreamCopy: round(rate.downloadMBps / rate.streamCopyMBps, 3),
    uploadOverCopyFile: round(rate.uploadMBps / rate.copyFileMBps, 3),
    downloadOverCopyFile: round(rate.downloadMBps / rate.copyFileMBps, 3),
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
    file: { megabytes: settings.fileMb, runs: settings.runs, statistic: 'median' },
    throughput: rate,
    ratios,
    memory,
    thumbnails: { source: '4000x3000 JPEG', concurrency: settings.thumbnailConcurrency, made: rates(made), cached: rates(cached), sharpInProcess: rates(direct) },
    goals: { ...goals, allMet: Object.values(goals).every((g) => g.met) },
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, totalMemMb: round(os.totalmem() / MiB, 0), node: process.version, platform: `${process.platform}-${process.arch}` },
    settings,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await runMain(main, cleanUp, log);
