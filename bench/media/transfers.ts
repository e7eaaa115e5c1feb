/**
 * Moving one big file three ways, each timed: uploaded to a server (at once, or to an id
 * created first), downloaded from it (to a file, as a client saving it would), and copied on
 * disk by this process (the baselines).
 *
 * The client is curl, in a process of its own: it costs about half the CPU per byte of a
 * node:http client (60–100 ms against 150–240 ms per 100 MB downloaded, measured on the
 * 2-core machine this was written on), and on a small machine whatever the client burns is
 * taken from the server it measures. A real client sits on another machine.
 */
import { execFile } from 'node:child_process';
import { copyFile, stat } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

export interface Timed {
  seconds: number;
}

const run = promisify(execFile);
/** The copies read and write in 1 MiB pieces (not 64/16 KiB). */
const COPY_BUFFER_BYTES = 1024 * 1024;
const now = () => process.hrtime.bigint();
const since = (start: bigint) => Number(now() - start) / 1e9;

/** `curl --version`'s first line, for the report; throws a clear error when curl is missing. */
export async function curlVersion(): Promise<string> {
  try {
    return (await run('curl', ['--version'])).stdout.split('\n')[0];
  } catch {
    throw new Error('bench:media needs curl (apt-get install curl)');
  }
}

/** curl with the token, `args`, and the status code written last; its output and that status. */
async function curl(token: string, args: string[]): Promise<{ status: number; out: string }> {
  const { stdout } = await run('curl', ['-sS', '-H', `Authorization: Bearer ${token}`, ...args, '-w', '\n%{http_code}'], { maxBuffer: 1024 * 1024 });
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), out: stdout.slice(0, cut) };
}

/** Sends `file` as the body of `method url` with its Content-Length; the answer's status and JSON. */
async function sendFile(method: string, url: string, token: string, file: string): Promise<{ status: number; body: Record<string, unknown> }> {
  // No "Expect: 100-continue": the body goes at once, as a node:http client sends it.
  const { status, out } = await curl(token, ['-X', method, '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', '-T', file, url]);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(out) as Record<string, unknown>;
  } catch {
    body = { text: out.slice(0, 200) };
  }
  return { status, body };
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

/** GET `url`, written to `dest`; checks the status and the length. */
export async function downloadFile(url: string, token: string, dest: string, expectBytes: number): Promise<Timed> {
  const start = now();
  const { status } = await curl(token, ['-o', dest, url]);
  const seconds = since(start);
  if (status !== 200) throw new Error(`download of ${url}: ${status}`);
  const { size } = await stat(dest);
  if (size !== expectBytes) throw new Error(`download: got ${size} bytes, expected ${expectBytes}`);
  return { seconds };
}

/** The authenticated download URL of an mxc:// URI. */
export const downloadUrl = (baseUrl: string, contentUri: string) => `${baseUrl}/_matrix/client/v1/media/download/${contentUri.slice('mxc://'.length)}`;

/** Read stream → write stream, the userland copy; `flush` fsyncs at the end as uploads do. */
export async function streamCopy(src: string, dest: string, flush: boolean): Promise<Timed> {
  const start = now();
  await pipeline(createReadStream(src, { highWaterMark: COPY_BUFFER_BYTES }), createWriteStream(dest, { flush, highWaterMark: COPY_BUFFER_BYTES }));
  return { seconds: since(start) };
}

/** fs.copyFile: the kernel copies (copy_file_range), no bytes through this process. */
export async function kernelCopy(src: string, dest: string): Promise<Timed> {
  const start = now();
  await copyFile(src, dest);
  return { seconds: since(start) };
}
