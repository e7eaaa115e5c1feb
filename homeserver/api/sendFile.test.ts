import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendFileRange } from './sendFile.ts';

/** A destination that takes each chunk only after `delayMs`, copying it then, and keeps what it saw. */
function slowSink(delayMs: number) {
  const copies: Buffer[] = [];
  const memories = new Set<ArrayBufferLike>();
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, done) {
      memories.add(chunk.buffer);
      setTimeout(() => {
        copies.push(Buffer.from(chunk));
        done();
      }, delayMs);
    },
  });
  return { sink, copies, memories };
}

/** A real HTTP server whose every request is answered by `serve`. */
async function httpServer(serve: (res: http.ServerResponse) => Promise<void>) {
  const outcomes: Array<Promise<unknown>> = [];
  const server = http.createServer((_req, res) => {
    outcomes.push(serve(res).then(() => 'sent', (err: Error) => err));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, outcomes, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('api/sendFile', () => {
  let dir: string;
  let file: string;
  const content = randomBytes(300_000);
  const opened: FileHandle[] = [];
  const openFile = async () => {
    const handle = await open(file, 'r');
    opened.push(handle);
    return handle;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'whisper-sendfile-'));
    file = path.join(dir, 'content.bin');
    await writeFile(file, content);
  });
  afterEach(async () => {
    for (const handle of opened.splice(0)) assert.equal(handle.fd, -1, 'the file handle was closed');
    await rm(dir, { recursive: true, force: true });
  });

  it('sends exactly the asked range over HTTP: whole, from the middle, one byte, across and within slots', async () => {
    const cases: Array<[number, number]> = [[0, content.length - 1], [1000, 250_000], [5, 5], [65_536, 65_536 * 3 - 1], [299_990, 299_999]];
    for (const [start, end] of cases) {
      const server = await httpServer(async (res) => sendFileRange(res, await openFile(), start, end, { slotBytes: 65_536, slots: 3 }));
      try {
        const got = Buffer.from(await (await fetch(server.url)).arrayBuffer());
        assert.ok(got.equals(content.subarray(start, end + 1)), `bytes ${start}-${end}`);
        assert.deepEqual(await Promise.all(server.outcomes), ['sent']);
      } finally {
        await server.close();
      }
    }
  });

  it('reads into at most `slots` buffers, reusing one only after its write has called back', async () => {
    const { sink, copies, memories } = slowSink(2);
    await sendFileRange(sink, await openFile(), 0, content.length - 1, { slotBytes: 10_000, slots: 3 });
    // Reused before the sink had taken it, a buffer would have been overwritten by a later read.
    assert.ok(Buffer.concat(copies).equals(content), 'the bytes as in the file');
    assert.equal(copies.length, 30);
    assert.ok(memories.size <= 3, `${memories.size} buffers for 30 chunks`);
  });

  it('reads no further ahead than its buffers while the destination takes nothing', async () => {
    const held: Buffer[] = [];
    const stuck = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer) {
        held.push(chunk); // never calls back
      },
    });
    // Writable calls _write one chunk at a time: the others wait in its buffer.
    const sending = sendFileRange(stuck, await openFile(), 0, content.length - 1, { slotBytes: 10_000, slots: 4 });
    await sleep(50);
    assert.equal(stuck.writableLength, 40_000, 'four slots written, and no more');
    stuck.destroy();
    await sending;
  });

  it('a client that goes away mid-download ends the sending quietly and closes the file', async () => {
    const big = randomBytes(16 * 1024 * 1024);
    await writeFile(file, big);
    const server = await httpServer(async (res) => sendFileRange(res, await openFile(), 0, big.length - 1));
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(server.url, resolve).once('error', reject));
      let received = 0;
      for await (const part of res) {
        received += (part as Buffer).length;
        if (received > 1024 * 1024) break; // destroys the response and its socket
      }
      assert.deepEqual(await Promise.all(server.outcomes), ['sent']);
      assert.ok(received < big.length);
    } finally {
      await server.close();
    }
  });

  it('a file shorter than the range destroys the response and fails, closing the file', async () => {
    const { sink } = slowSink(0);
    await assert.rejects(sendFileRange(sink, await openFile(), 0, content.length + 5000, { slotBytes: 64 * 1024 }), /file ended at byte 300000/);
    assert.equal(sink.destroyed, true);
  });
});
