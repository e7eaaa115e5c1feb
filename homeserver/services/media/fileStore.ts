/**
 * The media files on disk, addressed by content:
 *
 *   <root>/content/ab/cd/<sha256>                      the uploaded bytes
 *   <root>/thumbnails/ab/cd/<sha256>/<w>x<h>-<method>… thumbnails made of them
 *   <root>/tmp/                                        uploads and thumbnails being written
 *
 * Everything is written to tmp/ and renamed into place once complete and flushed, so a crash
 * never leaves a partial file where a reader looks. Identical uploads share one file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { finished, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors } from '../../errors.ts';
import { UploadWriteStream } from './uploadWriteStream.ts';

export interface StoredFile {
  sha256: string;
  size: number;
}

const WRITE_BUFFER_BYTES = 1024 * 1024;
/** Left-over temp files older than this are from a crash (an upload still going is younger). */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

export class FileStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  async init(now = Date.now()): Promise<void> {
    for (const dir of ['content', 'thumbnails', 'tmp']) await mkdir(path.join(this.root, dir), { recursive: true });
    const tmp = path.join(this.root, 'tmp');
    for (const name of await readdir(tmp)) {
      const file = path.join(tmp, name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true, recursive: true });
    }
  }

  contentPath(sha256: string): string {
    return path.join(this.root, 'content', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** Relative to the root, as stored in media_thumbnails.file_name. */
  thumbnailName(sha256: string, name: string): string {
    return path.join('thumbnails', sha256.slice(0, 2), sha256.slice(2, 4), sha256, name);
  }

  /**
   * Streams `source` to disk while hashing and counting it; more than `limit` bytes is
   * M_TOO_LARGE. The source is only piped from, never destroyed, so the caller can still
   * answer on its connection. Its chunks are taken as this store's own (their memory is freed
   * once written, see uploadWriteStream.ts): nothing else may read it, as nothing else
   * reads an upload's request body.
   */
  async receive(source: Readable, limit: number): Promise<StoredFile> {
    const tmp = this.tempPath();
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > limit) return done(errors.tooLarge(`Upload larger than the limit of ${limit} bytes.`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    // pipe() does not pass on the source's failure: a client that goes away mid-upload must
    // still end the write.
    const stopWatching = finished(source, (err) => {
      if (err) meter.destroy(errors.notJson('Request aborted.'));
    });
    source.pipe(meter);
    try {
      // flush: fsync before close, so the rename below never exposes unwritten blocks. A
      // larger buffer than the default 16 KiB lets chunks queue and go out in one writev:
      // uploads run about half again as fast, for 1 MiB per upload in flight.
      await pipeline(meter, new UploadWriteStream(tmp, { flags: 'wx', flush: true, highWaterMark: WRITE_BUFFER_BYTES }));
      const sha256 = hash.digest('hex');
      await this.moveIntoPlace(tmp, this.contentPath(sha256));
      return { sha256, size };
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    } finally {
      stopWatching();
      source.unpipe(meter);
    }
  }

  /** Like an upload, but the directory is not flushed: a thumbnail lost in a crash is made again. */
  async writeThumbnail(sha256: string, name: string, data: Buffer): Promise<string> {
    const relative = this.thumbnailName(sha256, name);
    const tmp = this.tempPath();
    try {
      await writeFile(tmp, data, { flag: 'wx', flush: true });
      await this.moveIntoPlace(tmp, path.join(this.root, relative), false);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    return relative;
  }

  /** Opens a stored file for reading; undefined when it is not on disk. */
  async open(file: string): Promise<FileHandle | undefined> {
    try {
      return await open(path.resolve(this.root, file), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Deletes a stored file (relative to the root); gone already is fine. */
  async remove(file: string): Promise<void> {
    await rm(path.resolve(this.root, file), { force: true });
  }

  private tempPath(): string {
    return path.join(this.root, 'tmp', randomBytes(12).toString('hex'));
  }

  /** rename() is atomic; flushing the directory makes the new name survive a power cut. */
  private async moveIntoPlace(tmp: string, target: string, flushDir = true): Promise<void> {
    const dir = path.dirname(target);
    await mkdir(dir, { recursive: true });
    await rename(tmp, target);
    if (!flushDir) return;
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
