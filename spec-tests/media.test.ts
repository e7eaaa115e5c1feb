/**
 * The media repository against a real server: uploads (at once and async), downloads with
 * ranges and their headers, size limits on streamed bodies, thumbnails decoded back with
 * sharp, the legacy unauthenticated reads, and matrix-js-sdk uploading and downloading.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import sharp from 'sharp';
import { describeServer, type TestServer, type TestUser } from './harness.ts';

(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');

const MEDIA = '/_matrix/media';
const CLIENT_MEDIA = '/_matrix/client/v1/media';
const MiB = 1024 * 1024;

interface BytesResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
  json: any;
}

interface SendOptions {
  token?: string;
  body?: Buffer | string | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
}

/** A request whose answer is read as bytes (the harness reads text, which would mangle files). */
async function send(server: TestServer, method: string, url: string, opts: SendOptions = {}): Promise<BytesResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body: opts.body as BodyInit | undefined };
  if (opts.body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(server.url + url, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  if ((res.headers.get('content-type') ?? '').includes('json')) json = JSON.parse(bytes.toString('utf8'));
  return { status: res.status, headers: res.headers, bytes, json };
}

async function upload(server: TestServer, user: TestUser, body: Buffer | string, opts: { type?: string; filename?: string } = {}): Promise<string> {
  const query = opts.filename === undefined ? '' : `?filename=${encodeURIComponent(opts.filename)}`;
  const headers: Record<string, string> = opts.type ? { 'Content-Type': opts.type } : {};
  const res = await send(server, 'POST', `${MEDIA}/v3/upload${query}`, { token: user.access_token, body, headers });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.match(res.json.content_uri, /^mxc:\/\/whisper\.test\/[A-Za-z0-9_-]+$/);
  return res.json.content_uri;
}

/** mxc://server/id → "server/id", the path tail of download and thumbnail URLs. */
const tail = (mxc: string) => mxc.slice('mxc://'.length);

/** A body sent in chunks with no Content-Length (chunked transfer encoding). */
function chunkedStream(chunk: Buffer, times: number): ReadableStream<Uint8Array> {
  return Readable.toWeb(Readable.from((function* () {
    for (let i = 0; i < times; i++) yield chunk;
  })())) as ReadableStream<Uint8Array>;
}

const photo = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .composite([{ input: { create: { width: Math.ceil(width / 2), height: Math.ceil(height / 2), channels: 3, background: { r: 10, g: 90, b: 220 } } } }])
    .jpeg()
    .toBuffer();

async function animatedGif(): Promise<Buffer> {
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const frames = await Promise.all(colours.map(([r, g, b]) => sharp({ create: { width: 120, height: 80, channels: 3, background: { r, g, b } } }).raw().toBuffer()));
  return sharp(Buffer.concat(frames), { raw: { width: 120, height: 240, channels: 3, pageHeight: 80 } }).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer();
}

/** Runs a script of spec-tests/ in a child Node with a JSON argument; its last stdout line, parsed. */
async function runChild(script: string, arg: unknown): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, '..', script), JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await once(child, 'exit');
  return JSON.parse(out.trim().split('\n').at(-1) || '{}') as Record<string, unknown>;
}

/** Descriptors this process (where the server runs) holds open on `file` (Linux). */
function openDescriptors(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed since the listing
    }
  }
  return n;
}

function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `whisper-${label}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const mediaPath = tempDir('media-test');

describeServer('media repository', { mediaPath, maxUploadBytes: 200 * MiB }, (srv) => {
  let alice: TestUser;
  let bob: TestUser;
  const bytes = randomBytes(1000);
  let fileUri: string;

  before(async () => {
    alice = await srv().register('alice');
    bob = await srv().register('bob');
    fileUri = await upload(srv(), alice, bytes, { type: 'application/pdf', filename: 'report.pdf' });
  });

  describe('upload and download', () => {
    it('round-trips the bytes with their content type and file name', async () => {
      const uri = await upload(srv(), alice, bytes, { type: 'image/png', filename: 'cat picture.png' });
      const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(uri)}`, { token: bob.access_token });
      assert.equal(res.status, 200);
      assert.deepEqual(res.bytes, bytes);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.equal(res.headers.get('content-length'), '1000');
      assert.equal(res.headers.get('content-disposition'), 'inline; filename="cat picture.png"');
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
      assert.match(res.headers.get('content-security-policy') ?? '', /^sandbox; default-src 'none'/);
    });

    it('serves types a browser could run as attachments (HTML), with the sandbox policy', async () => {
      const uri = await upload(srv(), alice, '<script>alert(1)</script>', { type: 'text/html', filename: 'x.html' });
      const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(uri)}`, { token: alice.access_token });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html');
      assert.equal(res.headers.get('content-disposition'), 'attachment; filename="x.html"');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    });

    it('names the file from the path when asked, with RFC 6266 encoding for non-ASCII names', async () => {
      const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(fileUri)}/${encodeURIComponent('résumé 日本.pdf')}`, { token: alice.access_token });
      assert.equal(res.status, 200);
      assert.deepEqual(res.bytes, bytes);
      assert.equal(res.headers.get('content-type'), 'application/pdf');
      const disposition = res.headers.get('content-disposition') ?? '';
      assert.match(disposition, /^attachment; /);
      assert.ok(disposition.includes(`filename*=UTF-8''${encodeURIComponent('résumé 日本.pdf')}`), disposition);
    });

    it('without a content type or name: application/octet-stream, an attachment with no file name', async () => {
      const res1 = await send(srv(), 'POST', `${MEDIA}/v3/upload`, { token: alice.access_token, body: bytes });
      // fetch labels a Buffer body with no type as nothing at all.
      const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(res1.json.content_uri)}`, { token: alice.access_token });
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.equal(res.headers.get('content-disposition'), 'attachment');
    });

    it('answers 404 M_NOT_FOUND for unknown media, other servers\' media and malformed ids', async () => {
      for (const p of ['whisper.test/nosuchmedia', 'matrix.org/abcdefabcdef', `whisper.test/${'x'.repeat(300)}`, 'whisper.test/a%2Fb']) {
        const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${p}`, { token: alice.access_token });
        assert.equal(res.status, 404, p);
        assert.equal(res.json.errcode, 'M_NOT_FOUND', p);
        const thumb = await send(srv(), 'GET', `${CLIENT_MEDIA}/thumbnail/${p}?width=32&height=32`, { token: alice.access_token });
        assert.equal(thumb.json.errcode, 'M_NOT_FOUND', p);
      }
    });

    it('needs a token on /_matrix/client/v1/media; the legacy unauthenticated reads are off by default', async () => {
      const anon = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(fileUri)}`);
      assert.equal(anon.status, 401);
      assert.equal(anon.json.errcode, 'M_MISSING_TOKEN');
      const anonThumb = await send(srv(), 'GET', `${CLIENT_MEDIA}/thumbnail/${tail(fileUri)}?width=1&height=1`);
      assert.equal(anonThumb.json.errcode, 'M_MISSING_TOKEN');
      for (const legacy of [`${MEDIA}/v3/download/${tail(fileUri)}`, `${MEDIA}/v3/download/${tail(fileUri)}/a.pdf`, `${MEDIA}/v3/thumbnail/${tail(fileUri)}?width=8&height=8`]) {
        const res = await send(srv(), 'GET', legacy);
        assert.equal(res.status, 404, legacy);
        assert.equal(res.json.errcode, 'M_NOT_FOUND');
        // Not even with a token: the endpoint is off, not merely unauthenticated.
        assert.equal((await send(srv(), 'GET', legacy, { token: alice.access_token })).status, 404);
      }
      const anonUpload = await send(srv(), 'POST', `${MEDIA}/v3/upload`, { body: bytes });
      assert.equal(anonUpload.json.errcode, 'M_MISSING_TOKEN');
    });

    it('refuses a control character in the file name', async () => {
      const res = await send(srv(), 'POST', `${MEDIA}/v3/upload?filename=a%0Ab`, { token: alice.access_token, body: bytes });
      assert.equal(res.status, 400);
      assert.equal(res.json.errcode, 'M_INVALID_PARAM');
    });
  });

  describe('ranges', () => {
    const url = () => `${CLIENT_MEDIA}/download/${tail(fileUri)}`;
    const ranged = (range: string, extra: Record<string, string> = {}) => send(srv(), 'GET', url(), { token: alice.access_token, headers: { Range: range, ...extra } });

    it('bytes=0-99, bytes=100- and bytes=-50 are 206 with the right slice and Content-Range', async () => {
      for (const [range, start, end] of [['bytes=0-99', 0, 99], ['bytes=100-', 100, 999], ['bytes=-50', 950, 999], ['bytes=990-5000', 990, 999]] as const) {
        const res = await ranged(range);
        assert.equal(res.status, 206, range);
        assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/1000`, range);
        assert.equal(res.headers.get('content-length'), String(end - start + 1));
        assert.deepEqual(res.bytes, bytes.subarray(start, end + 1), range);
      }
    });

    it('a range past the end is 416 with Content-Range: bytes */size', async () => {
      const res = await ranged('bytes=1000-1100');
      assert.equal(res.status, 416);
      assert.equal(res.headers.get('content-range'), 'bytes */1000');
      assert.equal(res.json.errcode, 'M_UNKNOWN');
    });

    it('a malformed range, or If-Range with another validator, gets the whole file', async () => {
      for (const res of [await ranged('bytes=abc'), await ranged('bytes=0-10', { 'If-Range': '"other"' })]) {
        assert.equal(res.status, 200);
        assert.deepEqual(res.bytes, bytes);
      }
    });

    it('HEAD gives the headers without the body; If-None-Match with the ETag is 304', async () => {
      const head = await send(srv(), 'HEAD', url(), { token: alice.access_token });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), '1000');
      assert.equal(head.headers.get('content-type'), 'application/pdf');
      assert.equal(head.bytes.length, 0);
      const etag = head.headers.get('etag')!;
      assert.equal(etag, `"${createHash('sha256').update(bytes).digest('hex')}"`);
      const again = await send(srv(), 'GET', url(), { token: alice.access_token, headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304);
      assert.equal(again.bytes.length, 0);
    });
  });

  describe('async upload (create, then PUT)', () => {
    const put = (user: TestUser, uri: string, body: Buffer | string, type = 'text/plain') =>
      send(srv(), 'PUT', `${MEDIA}/v3/upload/${tail(uri)}?filename=later.txt`, { token: user.access_token, body, headers: { 'Content-Type': type } });
    const create = async (user: TestUser) => {
      const res = await send(srv(), 'POST', `${MEDIA}/v1/create`, { token: user.access_token, body: '{}', headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      return res.json as { content_uri: string; unused_expires_at: number };
    };

    it('creates an id; only its creator may fill it, and only once; downloads then see it', async () => {
      const created = await create(alice);
      assert.match(created.content_uri, /^mxc:\/\/whisper\.test\//);
      assert.ok(Math.abs(created.unused_expires_at - (Date.now() + 24 * 3600 * 1000)) < 60_000);

      const pending = Date.now();
      const early = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(created.content_uri)}?timeout_ms=200`, { token: bob.access_token });
      assert.equal(early.status, 504);
      assert.equal(early.json.errcode, 'M_NOT_YET_UPLOADED');
      assert.ok(Date.now() - pending >= 190 && Date.now() - pending < 3000, `waited ${Date.now() - pending} ms`);

      const byBob = await put(bob, created.content_uri, 'bob was here');
      assert.equal(byBob.status, 403);
      assert.equal(byBob.json.errcode, 'M_FORBIDDEN');

      const first = await put(alice, created.content_uri, 'hello later');
      assert.equal(first.status, 200);
      assert.deepEqual(first.json, {});
      const second = await put(alice, created.content_uri, 'overwrite?');
      assert.equal(second.status, 409);
      assert.equal(second.json.errcode, 'M_CANNOT_OVERWRITE_MEDIA');

      const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(created.content_uri)}`, { token: bob.access_token });
      assert.equal(res.status, 200);
      assert.equal(res.bytes.toString(), 'hello later');
      assert.equal(res.headers.get('content-type'), 'text/plain');
      assert.equal(res.headers.get('content-disposition'), 'inline; filename="later.txt"');
    });

    it('a download waiting on a pending id is answered as soon as the upload lands', async () => {
      const created = await create(alice);
      const started = Date.now();
      const waiting = send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(created.content_uri)}?timeout_ms=15000`, { token: bob.access_token });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await put(alice, created.content_uri, 'worth the wait')).status, 200);
      const res = await waiting;
      assert.equal(res.status, 200);
      assert.equal(res.bytes.toString(), 'worth the wait');
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    });

    it('unknown, foreign and expired ids are 404 M_NOT_FOUND', async () => {
      assert.equal((await put(alice, 'mxc://whisper.test/nosuchid', 'x')).json.errcode, 'M_NOT_FOUND');
      assert.equal((await put(alice, 'mxc://other.example/abc', 'x')).json.errcode, 'M_NOT_FOUND');
      const created = await create(alice);
      const mediaId = created.content_uri.split('/').pop();
      await srv().hs.database.db('media').where({ media_id: mediaId }).update({ expires_ts: Date.now() - 1 });
      const late = await put(alice, created.content_uri, 'too late');
      assert.equal(late.status, 404);
      assert.equal(late.json.errcode, 'M_NOT_FOUND');
      const download = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(created.content_uri)}?timeout_ms=5000`, { token: alice.access_token });
      assert.equal(download.status, 404);
    });

    it('limits the pending ids one user holds (429 M_LIMIT_EXCEEDED), not other users', async () => {
      const carol = await srv().register('carol');
      for (let i = 0; i < 5; i++) await create(carol);
      const refused = await send(srv(), 'POST', `${MEDIA}/v1/create`, { token: carol.access_token });
      assert.equal(refused.status, 429);
      assert.equal(refused.json.errcode, 'M_LIMIT_EXCEEDED');
      assert.ok(refused.json.retry_after_ms > 23 * 3600 * 1000);
      const dave = await srv().register('dave');
      await create(dave);
    });

    it('rejects a malformed timeout_ms', async () => {
      const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(fileUri)}?timeout_ms=soon`, { token: alice.access_token });
      assert.equal(res.status, 400);
      assert.equal(res.json.errcode, 'M_INVALID_PARAM');
    });
  });

  describe('thumbnails', () => {
    let jpegUri: string;
    const thumb = (uri: string, query: string, token = alice.access_token) => send(srv(), 'GET', `${CLIENT_MEDIA}/thumbnail/${tail(uri)}?${query}`, { token });

    before(async () => {
      jpegUri = await upload(srv(), alice, await photo(400, 300), { type: 'image/jpeg', filename: 'photo.jpg' });
    });

    it('crop covers exactly the asked size; scale fits inside it keeping the shape', async () => {
      const crop = await thumb(jpegUri, 'width=64&height=64&method=crop');
      assert.equal(crop.status, 200);
      assert.equal(crop.headers.get('content-type'), 'image/jpeg');
      assert.equal(crop.headers.get('content-disposition'), 'inline; filename="thumbnail.jpeg"');
      const cropMeta = await sharp(crop.bytes).metadata();
      assert.deepEqual([cropMeta.format, cropMeta.width, cropMeta.height], ['jpeg', 64, 64]);

      const scale = await thumb(jpegUri, 'width=200&height=200&method=scale');
      const scaleMeta = await sharp(scale.bytes).metadata();
      assert.deepEqual([scaleMeta.width, scaleMeta.height], [200, 150]);
    });

    it('never upscales: scale keeps a small source as it is, crop keeps the asked shape within it', async () => {
      const big = await sharp((await thumb(jpegUri, 'width=1000&height=1000&method=scale')).bytes).metadata();
      assert.deepEqual([big.width, big.height], [400, 300]);
      const wide = await sharp((await thumb(jpegUri, 'width=800&height=200&method=crop')).bytes).metadata();
      assert.deepEqual([wide.width, wide.height], [400, 100]);
      // Over the largest side: scaled down to 1600 keeping the shape (then no upscaling).
      const huge = await thumb(jpegUri, 'width=100000&height=100000');
      assert.equal(huge.status, 200);
    });

    it('keeps transparency as PNG', async () => {
      const png = await sharp({ create: { width: 100, height: 50, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer();
      const uri = await upload(srv(), alice, png, { type: 'image/png' });
      const res = await thumb(uri, 'width=32&height=32&method=scale');
      assert.equal(res.headers.get('content-type'), 'image/png');
      const meta = await sharp(res.bytes).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height, meta.hasAlpha], ['png', 32, 16, true]);
    });

    it('serves a thumbnail made once from the cache afterwards', async () => {
      const first = await thumb(jpegUri, 'width=48&height=48&method=crop');
      assert.equal(first.status, 200);
      const sha256 = createHash('sha256').update(await photo(400, 300)).digest('hex');
      const rows = await srv().hs.database.db('media_thumbnails').where({ sha256, width: 48, height: 48, method: 'crop' });
      assert.equal(rows.length, 1);
      // Replace the cached file: a second request must send it rather than make a new one.
      const marker = await sharp({ create: { width: 7, height: 7, channels: 3, background: { r: 1, g: 2, b: 3 } } }).jpeg().toBuffer();
      writeFileSync(path.join(mediaPath, rows[0].file_name), marker);
      const second = await thumb(jpegUri, 'width=48&height=48&method=crop');
      assert.equal(second.status, 200);
      assert.deepEqual(second.bytes, marker);
    });

    it('keeps at most 32 thumbnails per file, dropping the oldest', async () => {
      const small = await sharp({ create: { width: 60, height: 40, channels: 3, background: '#123456' } }).png().toBuffer();
      const uri = await upload(srv(), alice, small, { type: 'image/png' });
      for (let side = 1; side <= 34; side++) assert.equal((await thumb(uri, `width=${side}&height=${side}&method=crop`)).status, 200);
      const sha256 = createHash('sha256').update(small).digest('hex');
      const rows = await srv().hs.database.db('media_thumbnails').where({ sha256 });
      assert.equal(rows.length, 32);
      assert.deepEqual(rows.map((r) => r.width).sort((a, b) => a - b)[0], 3);
      assert.equal(readdirSync(path.join(mediaPath, 'thumbnails', sha256.slice(0, 2), sha256.slice(2, 4), sha256)).length, 32);
    });

    it('animated GIF: animated WebP when asked for, the first frame otherwise', async () => {
      const uri = await upload(srv(), alice, await animatedGif(), { type: 'image/gif', filename: 'party.gif' });
      const moving = await thumb(uri, 'width=60&height=60&method=scale&animated=true');
      assert.equal(moving.status, 200);
      assert.equal(moving.headers.get('content-type'), 'image/webp');
      const movingMeta = await sharp(moving.bytes, { animated: true }).metadata();
      assert.deepEqual([movingMeta.format, movingMeta.pages, movingMeta.width, movingMeta.pageHeight], ['webp', 3, 60, 40]);

      const still = await thumb(uri, 'width=60&height=60&method=scale');
      assert.equal(still.headers.get('content-type'), 'image/png');
      const stillMeta = await sharp(still.bytes).metadata();
      assert.deepEqual([stillMeta.format, stillMeta.pages ?? 1, stillMeta.width, stillMeta.height], ['png', 1, 60, 40]);

      // A JPEG cannot move: animated=true is answered as if false.
      assert.equal((await thumb(jpegUri, 'width=30&height=30&animated=true')).headers.get('content-type'), 'image/jpeg');
    });

    it('refuses what is not an image (400 M_UNKNOWN) and a decompression bomb (413 M_TOO_LARGE)', async () => {
      const text = await thumb(fileUri, 'width=32&height=32');
      assert.equal(text.status, 400);
      assert.equal(text.json.errcode, 'M_UNKNOWN');
      const svg = await upload(srv(), alice, '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', { type: 'image/svg+xml' });
      assert.equal((await thumb(svg, 'width=32&height=32')).status, 400);
      // 9000×9000 pixels in a few hundred kilobytes of PNG.
      const bomb = await sharp({ create: { width: 9000, height: 9000, channels: 3, background: { r: 0, g: 0, b: 0 } }, limitInputPixels: false }).png({ compressionLevel: 9 }).toBuffer();
      assert.ok(bomb.length < 2 * MiB);
      const res = await thumb(await upload(srv(), alice, bomb, { type: 'image/png' }), 'width=32&height=32');
      assert.equal(res.status, 413);
      assert.equal(res.json.errcode, 'M_TOO_LARGE');
    });

    it('bad sizes and methods are M_INVALID_PARAM, missing ones M_MISSING_PARAM', async () => {
      for (const q of ['width=0&height=10', 'width=-5&height=10', 'width=1.5&height=10', 'width=ten&height=10', 'width=10&height=10&method=stretch', 'width=10&height=10&animated=yes']) {
        const res = await thumb(jpegUri, q);
        assert.equal(res.status, 400, q);
        assert.equal(res.json.errcode, 'M_INVALID_PARAM', q);
      }
      const missing = await thumb(jpegUri, 'height=10');
      assert.equal(missing.json.errcode, 'M_MISSING_PARAM');
    });
  });

  describe('config and URL previews', () => {
    it('media/config gives m.upload.size on both paths', async () => {
      for (const p of [`${CLIENT_MEDIA}/config`, `${MEDIA}/v3/config`]) {
        const res = await send(srv(), 'GET', p, { token: alice.access_token });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, { 'm.upload.size': 200 * MiB });
      }
      assert.equal((await send(srv(), 'GET', `${CLIENT_MEDIA}/config`)).json.errcode, 'M_MISSING_TOKEN');
    });

    it('preview_url says plainly that URL previews are off (the default)', async () => {
      for (const p of [`${CLIENT_MEDIA}/preview_url`, `${MEDIA}/v3/preview_url`]) {
        const res = await send(srv(), 'GET', `${p}?url=${encodeURIComponent('https://example.org/')}`, { token: alice.access_token });
        assert.equal(res.status, 404);
        assert.equal(res.json.errcode, 'M_UNRECOGNIZED');
        assert.match(res.json.error, /URL previews/);
      }
    });
  });

  describe('large files stream', () => {
    it('a 180 MB chunked upload and its download go through without the server holding them in memory', async function () {
      this.timeout(120_000);
      const times = 180;
      // The server runs in this process and the client in a child, so this process's RSS is
      // the server's: a client's own buffers, in here, counted against the server made the
      // check fail under load while the server held nothing.
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
      let result: Record<string, unknown>;
      try {
        result = await runChild('spec-tests/media/bulkTransfer.ts', { url: srv().url, token: alice.access_token, times });
      } finally {
        clearInterval(sampler);
      }
      assert.equal(result.uploadStatus, 200, JSON.stringify(result));
      assert.equal(result.downloadStatus, 200, JSON.stringify(result));
      assert.equal(result.contentLength, String(times * MiB));
      assert.equal(result.bytes, times * MiB);
      assert.equal(result.gotSha256, result.sentSha256);
      const grewMb = (peak - baseline) / MiB;
      // Holding the file would cost its 180 MB, leaving each piece to the garbage collector up to
      // 64 MB (V8 collects when that much has piled up outside its heap); the server frees or
      // reuses its buffers as they are written, so it stays within a few MB.
      assert.ok(grewMb < 32, `RSS grew by ${grewMb.toFixed(0)} MB while moving ${times} MB`);
    });

    it('a download cut off mid-way ends on the server and closes the file (no descriptor left open)', async function () {
      this.timeout(30_000);
      const big = randomBytes(48 * MiB);
      const uri = await upload(srv(), alice, big);
      const logged = srv().logLines.length;
      const sha256 = createHash('sha256').update(big).digest('hex');
      const stored = path.join(realpathSync(mediaPath), 'content', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get(`${srv().url}${CLIENT_MEDIA}/download/${tail(uri)}`, { headers: { Authorization: `Bearer ${alice.access_token}` } }, resolve).once('error', reject);
      });
      assert.equal(res.statusCode, 200);
      let received = 0;
      await new Promise<void>((resolve) => {
        res.on('data', (part: Buffer) => {
          received += part.length;
          if (received < MiB) return;
          res.pause();
          resolve();
        });
      });
      // The client stopped reading with most of the file unsent: the server is still on it.
      assert.equal(openDescriptors(stored), 1, 'the server reads the file while the download runs');
      res.destroy();
      for (let i = 0; i < 100 && openDescriptors(stored) > 0; i++) await sleep(50);
      assert.equal(openDescriptors(stored), 0, 'the file is closed once the client has gone');
      const errors = srv().logLines.slice(logged).filter((l) => JSON.parse(l).status >= 500 || JSON.parse(l).level >= 50);
      assert.deepEqual(errors, [], 'no error logged');
      // And the file is still served whole.
      const again = await send(srv(), 'GET', `${CLIENT_MEDIA}/download/${tail(uri)}`, { token: alice.access_token });
      assert.ok(again.bytes.equals(big));
    });
  });

  describe('matrix-js-sdk', () => {
    it('uploadContent works and the authenticated mxcUrlToHttp URL downloads the file', async () => {
      const client = createClient({ baseUrl: srv().url, accessToken: alice.access_token, userId: alice.user_id, deviceId: alice.device_id });
      const content = randomBytes(5000);
      const { content_uri } = await client.uploadContent(content, { name: 'sdk.bin', type: 'application/x-test' });
      assert.match(content_uri, /^mxc:\/\/whisper\.test\//);
      const url = client.mxcUrlToHttp(content_uri, undefined, undefined, undefined, false, true, true);
      assert.ok(url?.startsWith(`${srv().url}${CLIENT_MEDIA}/download/`), url ?? 'null');
      const res = await fetch(url!, { headers: { Authorization: `Bearer ${alice.access_token}` } });
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), content);
      assert.equal(res.headers.get('content-type'), 'application/x-test');
      assert.equal(res.headers.get('content-disposition'), 'attachment; filename="sdk.bin"');

      const thumbUrl = client.mxcUrlToHttp(content_uri, 32, 32, 'crop', false, true, true);
      assert.match(thumbUrl ?? '', /\/_matrix\/client\/v1\/media\/thumbnail\/.*width=32&height=32&method=crop/);
      client.stopClient();
    });
  });
});

const smallMediaPath = tempDir('media-small');

describeServer('media repository with a 1 MiB limit and legacy reads on', { mediaPath: smallMediaPath, maxUploadBytes: MiB, legacyUnauthenticatedMedia: true }, (srv) => {
  let alice: TestUser;
  before(async () => {
    alice = await srv().register('alice');
  });
  const tmpFiles = () => readdirSync(path.join(smallMediaPath, 'tmp'));

  it('accepts exactly the limit', async () => {
    await upload(srv(), alice, randomBytes(MiB));
  });

  it('refuses a declared Content-Length over the limit with 413 M_TOO_LARGE before reading it', async () => {
    const res = await send(srv(), 'POST', `${MEDIA}/v3/upload`, { token: alice.access_token, body: randomBytes(MiB + 1) });
    assert.equal(res.status, 413);
    assert.equal(res.json.errcode, 'M_TOO_LARGE');
    assert.deepEqual(tmpFiles(), []);
  });

  it('counts a chunked body as it streams: 413 M_TOO_LARGE, and no file is left behind', async () => {
    const before = await srv().hs.database.db('media').count({ n: '*' });
    const res = await send(srv(), 'POST', `${MEDIA}/v3/upload`, { token: alice.access_token, body: chunkedStream(randomBytes(64 * 1024), 48) });
    assert.equal(res.status, 413);
    assert.equal(res.json.errcode, 'M_TOO_LARGE');
    assert.deepEqual(tmpFiles(), []);
    assert.deepEqual(await srv().hs.database.db('media').count({ n: '*' }), before);
    // The server is fine afterwards.
    await upload(srv(), alice, 'still here');
  });

  it('an upload cut off mid-way leaves no file and no row, and is not a server error', async () => {
    const before = await srv().hs.database.db('media').count({ n: '*' });
    const { hostname, port } = new URL(srv().url);
    const socket = net.connect(Number(port), hostname);
    await once(socket, 'connect');
    socket.write(`POST ${MEDIA}/v3/upload HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${alice.access_token}\r\nContent-Length: 900000\r\n\r\n`);
    socket.write(randomBytes(300_000));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(tmpFiles().length, 1, 'the upload is being written');
    socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(tmpFiles(), []);
    assert.deepEqual(await srv().hs.database.db('media').count({ n: '*' }), before);
    assert.ok(!srv().logLines.some((l) => JSON.parse(l).status >= 500), 'no 5xx logged');
  });

  it('the async PUT has the same limit', async () => {
    const created = await send(srv(), 'POST', `${MEDIA}/v1/create`, { token: alice.access_token });
    const res = await send(srv(), 'PUT', `${MEDIA}/v3/upload/${tail(created.json.content_uri)}`, { token: alice.access_token, body: chunkedStream(randomBytes(64 * 1024), 20) });
    assert.equal(res.status, 413);
    assert.equal(res.json.errcode, 'M_TOO_LARGE');
  });

  it('media/config reports the limit', async () => {
    const res = await send(srv(), 'GET', `${CLIENT_MEDIA}/config`, { token: alice.access_token });
    assert.deepEqual(res.json, { 'm.upload.size': MiB });
  });

  it('legacy /_matrix/media/v3/download and /thumbnail answer without a token when enabled', async () => {
    const jpeg = await photo(80, 60);
    const uri = await upload(srv(), alice, jpeg, { type: 'image/jpeg', filename: 'p.jpg' });
    const res = await send(srv(), 'GET', `${MEDIA}/v3/download/${tail(uri)}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.bytes, jpeg);
    const named = await send(srv(), 'GET', `${MEDIA}/v3/download/${tail(uri)}/other.jpg`);
    assert.equal(named.headers.get('content-disposition'), 'inline; filename="other.jpg"');
    const thumb = await send(srv(), 'GET', `${MEDIA}/v3/thumbnail/${tail(uri)}?width=40&height=30&method=scale`);
    assert.equal(thumb.status, 200);
    const meta = await sharp(thumb.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [40, 30]);
  });
});
