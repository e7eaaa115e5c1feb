/**
 * Moving one big file three ways, each timed: uploaded to Whisper (at once, or to an id
 * created first), downloaded from it (to a file, as a client saving it would), and copied on
 * disk by this process (the baseline).
 * node:http rather than fetch, so the client side costs as little as it can.
 */
import { copyFile, stat } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';

export interface Timed {
  seconds: number;
}

/** Reads and writes in 1 MiB pieces (not 64/16 KiB), in the client and the copy alike. */
const CLIENT_BUFFER_BYTES = 1024 * 1024;
const now = () => process.hrtime.bigint();
const since = (start: bigint) => Number(now() - start) / 1e9;

/** Sends `file` as the body of `method url` with its Content-Length; the answer's status and JSON. */
async function sendFile(method: string, url: string, token: string, file: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const { size } = await stat(file);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(url, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': size },
    }, resolve);
    req.once('error', reject);
    createReadStream(file, { highWaterMark: CLIENT_BUFFER_BYTES }).once('error', reject).pipe(req);
  });
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> };
}

/** POST /_matrix/media/v3/upload, the body streamed from `file` with its Content-Length. */
export async function uploadFile(baseUrl: string, token: string, file: string): Promise<Timed & { contentUri: string }> {
  const start = now();
  const { status, body } = await sendFile('POST', `${baseUrl}/_matrix/media/v3/upload?filename=bench.bin`, token, file);
  const seconds = since(start);
  if (status !== 200 || typeof body.content_uri !== 'string') throw new Error(`upload: ${status} ${JSON.stringify(body)}`);
  return { seconds, contentUri: body.content_uri };
}

/** The async upload: POST /_matrix/media/v1/create, then PUT the file to the id it gave; both timed. */
export async function uploadFileAsync(baseUrl: string, token: string, file: string): Promise<Timed & { contentUri: string }> {
  const start = now();
  const created = await fetch(`${baseUrl}/_matrix/media/v1/create`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  const { content_uri: contentUri } = (await created.json()) as { content_uri?: string };
  if (created.status !== 200 || !contentUri) throw new Error(`create: ${created.status}`);
  const { status, body } = await sendFile('PUT', `${baseUrl}/_matrix/media/v3/upload/${contentUri.slice('mxc://'.length)}?filename=bench.bin`, token, file);
  const seconds = since(start);
  if (status !== 200) throw new Error(`async upload: ${status} ${JSON.stringify(body)}`);
  return { seconds, contentUri };
}

/** GET /_matrix/client/v1/media/download/…, written to `dest`; checks the length. */
export async function downloadFile(baseUrl: string, token: string, contentUri: string, dest: string, expectBytes: number): Promise<Timed> {
  const start = now();
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`${baseUrl}/_matrix/client/v1/media/download/${contentUri.slice('mxc://'.length)}`, { headers: { Authorization: `Bearer ${token}` } }, resolve).once('error', reject);
  });
  if (res.statusCode !== 200) throw new Error(`download: ${res.statusCode}`);
  await pipeline(res, createWriteStream(dest, { highWaterMark: CLIENT_BUFFER_BYTES }));
  const seconds = since(start);
  const { size } = await stat(dest);
  if (size !== expectBytes) throw new Error(`download: got ${size} bytes, expected ${expectBytes}`);
  return { seconds };
}

/** Read stream → write stream, the userland copy; `flush` fsyncs at the end as uploads do. */
export async function streamCopy(src: string, dest: string, flush: boolean): Promise<Timed> {
  const start = now();
  await pipeline(createReadStream(src, { highWaterMark: CLIENT_BUFFER_BYTES }), createWriteStream(dest, { flush, highWaterMark: CLIENT_BUFFER_BYTES }));
  return { seconds: since(start) };
}

/** fs.copyFile: the kernel copies (copy_file_range), no bytes through this process. */
export async function kernelCopy(src: string, dest: string): Promise<Timed> {
  const start = now();
  await copyFile(src, dest);
  return { seconds: since(start) };
}
