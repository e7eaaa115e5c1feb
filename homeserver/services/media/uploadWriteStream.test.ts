import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UploadWriteStream } from './uploadWriteStream.ts';

describe('media/uploadWriteStream', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'whisper-releasing-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every byte, in order, and frees each chunk that owns its memory once written', async () => {
    // Many chunks, so some go out alone (_write) and some batched (_writev).
    const chunks = Array.from({ length: 64 }, (_, i) => randomBytes(1000 + i * 37));
    const expected = Buffer.concat(chunks);
    const file = path.join(dir, 'out.bin');
    await pipeline(Readable.from(chunks), new UploadWriteStream(file, { flags: 'wx', flush: true, highWaterMark: 8 * 1024 }));
    assert.deepEqual(await readFile(file), expected);
    for (const chunk of chunks) {
      assert.equal(chunk.buffer.byteLength, 0, 'the chunk\'s memory was handed back');
      assert.equal(chunk.length, 0);
    }
  });

  it('leaves alone chunks that share their memory: Buffer\'s pool, a slice of a larger buffer', async () => {
    const big = randomBytes(4096);
    const slice = big.subarray(100, 2100);
    const pooled = Buffer.from('a small pooled buffer');
    assert.ok(pooled.buffer.byteLength > pooled.length, 'the test needs a pooled buffer');
    const file = path.join(dir, 'out.bin');
    await pipeline(Readable.from([slice, pooled]), new UploadWriteStream(file, { flags: 'wx', flush: true }));
    assert.deepEqual(await readFile(file), Buffer.concat([big.subarray(100, 2100), Buffer.from('a small pooled buffer')]));
    assert.equal(big.length, 4096);
    assert.equal(slice.length, 2000);
    assert.equal(pooled.toString(), 'a small pooled buffer');
  });

  it('past the flush interval: every byte written, and a stream destroyed mid-flush closes cleanly', async () => {
    const MiB = 1024 * 1024;
    const piece = randomBytes(MiB);
    const pieces = () => Readable.from(Array.from({ length: 40 }, () => Buffer.from(piece)));
    const whole = path.join(dir, 'whole.bin');
    await pipeline(pieces(), new UploadWriteStream(whole, { flags: 'wx', flush: true, highWaterMark: MiB }));
    const written = await readFile(whole);
    assert.equal(written.length, 40 * MiB);
    for (let i = 0; i < 40; i++) assert.ok(written.subarray(i * MiB, (i + 1) * MiB).equals(piece), `piece ${i}`);

    // Destroyed right after enough bytes for a flush went out: it closes without error.
    const cut = new UploadWriteStream(path.join(dir, 'cut.bin'), { flags: 'wx', flush: true, highWaterMark: MiB });
    const closed = new Promise<void>((resolve, reject) => {
      cut.once('close', resolve);
      cut.once('error', reject);
    });
    for (let i = 0; i < 17; i++) cut.write(Buffer.from(piece));
    await new Promise<void>((resolve) => cut.write(Buffer.from(piece), () => resolve()));
    cut.destroy();
    await closed;
  });

  it('writes a chunk whose memory cannot be detached (a WebAssembly memory) and leaves it as it was', async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const chunk = Buffer.from(memory.buffer);
    chunk.set(randomBytes(chunk.length));
    const copy = Buffer.from(chunk);
    const file = path.join(dir, 'out.bin');
    await pipeline(Readable.from([chunk]), new UploadWriteStream(file, { flags: 'wx', flush: true }));
    assert.deepEqual(await readFile(file), copy);
    assert.equal(chunk.length, 64 * 1024);
  });

  it('frees nothing when the write fails (the file exists already)', async () => {
    const file = path.join(dir, 'taken.bin');
    await pipeline(Readable.from([Buffer.from('first')]), new UploadWriteStream(file, { flags: 'wx' }));
    const chunk = randomBytes(5000);
    await assert.rejects(pipeline(Readable.from([chunk]), new UploadWriteStream(file, { flags: 'wx' })), { code: 'EEXIST' });
    assert.equal(chunk.length, 5000);
  });
});
