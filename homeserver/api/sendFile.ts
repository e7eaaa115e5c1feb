/**
 * Sends a byte range of an open file as a response body through a few buffers that are used
 * again and again, where fs.ReadStream (what Koa would pipe) reads each piece into a fresh one.
 *
 * A fresh buffer per read is memory outside the JS heap, and V8 runs a full mark-compact of
 * the whole heap each time such memory has grown by 64 MB: serving 100 MB that way cost the
 * server about as much CPU in collections of its ~40 MB heap as in moving the bytes, and its
 * pauses stalled the socket. Here a download holds at most SLOTS buffers of SLOT_BYTES, reads
 * the file into whichever is free, and takes a buffer back only once the response's write
 * callback says the socket is done with it (until then the socket may still be reading it).
 * Those few buffers in flight are also the backpressure: a slow client leaves no buffer free,
 * so the file is read no faster than the client takes it.
 *
 * The file handle is this function's: it is closed whatever happens (the last byte read, the
 * client gone, a read failing). A client that goes away ends the sending quietly; a file that
 * cannot be read destroys the response (its headers are out: a truncated body is all that can
 * say so) and throws.
 */
import type { FileHandle } from 'node:fs/promises';

/** Per download: fewer, larger writes than ReadStream's 64 KiB, and 1 MiB in flight at most. */
const SLOT_BYTES = 256 * 1024;
const SLOTS = 4;

export interface SendFileOptions {
  slotBytes?: number;
  slots?: number;
}

/** The part of a ServerResponse this needs (a plain Writable has it too). */
export interface Destination {
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  write(chunk: Uint8Array, callback: (err?: Error | null) => void): boolean;
  end(): unknown;
  destroy(): unknown;
  once(event: 'close' | 'finish', listener: () => void): unknown;
  off(event: 'close' | 'finish', listener: () => void): unknown;
}

/** Writes bytes `start`…`end` (inclusive) of `file` to `res` and ends it; resolves once it is finished or closed. */
export async function sendFileRange(res: Destination, file: FileHandle, start: number, end: number, opts: SendFileOptions = {}): Promise<void> {
  const slotBytes = Math.max(1, Math.min(opts.slotBytes ?? SLOT_BYTES, end - start + 1));
  const maxSlots = opts.slots ?? SLOTS;
  const free: Buffer[] = [];
  let made = 0;
  let closed = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // A destroyed connection may never call back the writes it holds: its close wakes the loop.
  const onClose = () => {
    closed = true;
    poke();
  };
  res.once('close', onClose);
  try {
    for (let pos = start; pos <= end && !closed && !res.destroyed;) {
      let buf = free.pop();
      if (!buf && made < maxSlots) {
        buf = Buffer.allocUnsafeSlow(slotBytes);
        made++;
      }
      if (!buf) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const { bytesRead } = await file.read(buf, 0, Math.min(slotBytes, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error(`file ended at byte ${pos}, before ${end + 1}`);
      if (closed || res.destroyed) break;
      pos += bytesRead;
      const slot = buf;
      res.write(bytesRead === slot.length ? slot : slot.subarray(0, bytesRead), (err) => {
        // A failed write means the response is done for, whether or not it says so yet.
        if (err) closed = true;
        else free.push(slot);
        poke();
      });
    }
    if (!closed && !res.destroyed) res.end();
  } catch (err) {
    // Thrown to the caller to log; the response only needs cutting off.
    res.destroy();
    throw err;
  } finally {
    res.off('close', onClose);
    await file.close();
  }
  if (res.writableFinished || res.destroyed) return;
  await new Promise<void>((resolve) => {
    const settled = () => {
      res.off('finish', settled);
      res.off('close', settled);
      resolve();
    };
    res.once('finish', settled);
    res.once('close', settled);
  });
}
