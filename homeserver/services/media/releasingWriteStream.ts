/**
 * A file write stream (fs.WriteStream, unchanged in how it writes) that hands each chunk's
 * memory back as soon as the chunk is on disk, instead of leaving it to the garbage collector.
 *
 * Why: each piece of a request body is a fresh buffer outside the JS heap (node:http copies
 * it out of the socket). V8 runs a full mark-compact of the whole heap whenever such memory
 * has grown by 64 MB since the last one, and an upload allocates almost nothing else, so no
 * cheaper young-generation collection frees the pieces first. A 100 MB upload thus cost 3 to 8
 * mark-compacts of the server's ~40 MB heap: about half of the server's CPU time for the
 * upload, and the pauses stall the socket and the disk alike. Detaching a written piece
 * (ArrayBuffer.prototype.transfer(0)) frees its memory at once, and with it those collections.
 *
 * The chunks written must be the writer's alone: whoever else still held one would find it
 * empty. Only a chunk that spans its whole ArrayBuffer is released, never a view into memory
 * it shares (Buffer's pool, a slice of a larger buffer).
 */
import { WriteStream } from 'node:fs';

type Callback = (error?: Error | null) => void;

/** fs.WriteStream's real constructor; its typings only give it Writable's. */
const FileWriteStream = WriteStream as unknown as new (path: string, options: { flags?: string; flush?: boolean; highWaterMark?: number }) => WriteStream;

function release(chunk: unknown): void {
  if (chunk instanceof Uint8Array && chunk.byteOffset === 0 && chunk.buffer instanceof ArrayBuffer && chunk.buffer.byteLength === chunk.byteLength) {
    chunk.buffer.transfer(0);
  }
}

export class ReleasingWriteStream extends FileWriteStream {
  override _write(chunk: Buffer, encoding: BufferEncoding, callback: Callback): void {
    super._write(chunk, encoding, (err) => {
      if (!err) release(chunk);
      callback(err);
    });
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: Callback): void {
    super._writev!(chunks, (err) => {
      if (!err) for (const { chunk } of chunks) release(chunk);
      callback(err);
    });
  }
}
