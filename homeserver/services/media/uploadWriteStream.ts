/**
 * The file an upload is written to: fs.WriteStream, unchanged in how it writes, plus two things
 * that matter when a body is large.
 *
 * Each chunk's memory is handed back as soon as the chunk is on disk, instead of being left to
 * the garbage collector. Each piece of a request body is a fresh buffer outside the JS heap
 * (node:http copies it out of the socket). V8 runs a full mark-compact of the whole heap
 * whenever such memory has grown by 64 MB since the last one, and an upload allocates almost
 * nothing else, so no cheaper young-generation collection frees the pieces first: a 100 MB
 * upload cost 3 to 8 mark-compacts of the server's ~40 MB heap, about half of the server's CPU
 * time for the upload, and their pauses stalled the socket and the disk alike. Detaching a
 * written piece (ArrayBuffer.prototype.transfer(0)) frees its memory at once, and with it those
 * collections. So the chunks written must be the writer's alone: whoever else still held one
 * would find it empty. Only a chunk that spans its whole ArrayBuffer is released, never a view
 * into memory it shares (Buffer's pool, a slice of a larger buffer).
 *
 * The data is flushed to disk as it arrives (fdatasync every SYNC_EVERY_BYTES, one at a time,
 * while the writes go on), so the fsync before close (the `flush` option) finds little left to
 * write: the client's answer no longer waits for the whole file to go from the page cache to
 * the disk after its last byte (about 50 ms per 100 MB here). A failed flush fails the stream:
 * Linux reports a write-back error once, so a later fsync could pass over lost data.
 */
import { fdatasync, WriteStream } from 'node:fs';

type Callback = (error?: Error | null) => void;

export interface UploadWriteStreamOptions {
  flags?: string;
  /** fsync before close (fs.createWriteStream's option). */
  flush?: boolean;
  highWaterMark?: number;
}

/** Written bytes after which a background flush starts. */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

/** fs.WriteStream's real constructor; its typings only give it Writable's. */
const FileWriteStream = WriteStream as unknown as new (path: string, options: UploadWriteStreamOptions) => WriteStream;

function release(chunk: unknown): void {
  if (chunk instanceof Uint8Array && chunk.byteOffset === 0 && chunk.buffer instanceof ArrayBuffer && chunk.buffer.byteLength === chunk.byteLength) {
    try {
      chunk.buffer.transfer(0);
    } catch {
      // Memory its owner made non-detachable: the garbage collector frees it as before.
    }
  }
}

export class UploadWriteStream extends FileWriteStream {
  private unsynced = 0;
  /** The background flush in flight: the descriptor must not be closed under it. */
  private syncing: Promise<void> | undefined;

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    super._write(chunk, encoding, (err) => {
      if (!err) this.written([chunk]);
      callback(err);
    });
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: Callback): void {
    super._writev!(chunks, (err) => {
      if (!err) this.written(chunks.map((c) => c.chunk));
      callback(err);
    });
  }

  override _destroy(error: Error | null, callback: Callback): void {
    const close = () => super._destroy(error, callback);
    if (this.syncing) void this.syncing.then(close);
    else close();
  }

  private written(chunks: Buffer[]): void {
    for (const chunk of chunks) {
      this.unsynced += chunk.byteLength;
      release(chunk);
    }
    // fs.WriteStream's descriptor, which its typings leave out.
    const fd = (this as unknown as { fd: number | null }).fd;
    if (this.unsynced < SYNC_EVERY_BYTES || this.syncing || this.destroyed || typeof fd !== 'number') return;
    this.unsynced = 0;
    this.syncing = new Promise((resolve) => {
      fdatasync(fd, (err) => {
        this.syncing = undefined;
        if (err) this.destroy(err);
        resolve();
      });
    });
  }
}
