/**
 * The client side of media.test.ts's memory check, in a process of its own so that its buffers
 * are not counted in the RSS of the test process, where the server runs: uploads `times` copies
 * of one random MiB as a chunked body (no Content-Length), downloads the result, and prints one
 * JSON line with what it saw and the SHA-256 of what it sent and of what came back.
 *
 *   node spec-tests/media/bulkTransfer.ts '{"url":"http://127.0.0.1:1234","token":"…","times":180}'
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

interface Args {
  url: string;
  token: string;
  times: number;
}

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const { url, token, times } = JSON.parse(process.argv[2] ?? '{}') as Args;
  const chunk = randomBytes(MiB);
  const sent = createHash('sha256');
  for (let i = 0; i < times; i++) sent.update(chunk);
  const body = Readable.toWeb(Readable.from((function* () {
    for (let i = 0; i < times; i++) yield chunk;
  })()));
  const up = await fetch(`${url}/_matrix/media/v3/upload?filename=big.bin`, {
    method: 'POST', body: body as ReadableStream<Uint8Array>, duplex: 'half',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
  } as RequestInit);
  const uploaded = (await up.json()) as { content_uri?: string };
  if (up.status !== 200 || !uploaded.content_uri) {
    process.stdout.write(`${JSON.stringify({ uploadStatus: up.status, upload: uploaded })}\n`);
    return;
  }
  const down = await fetch(`${url}/_matrix/client/v1/media/download/${uploaded.content_uri.slice('mxc://'.length)}`, { headers: { Authorization: `Bearer ${token}` } });
  const got = createHash('sha256');
  let bytes = 0;
  for await (const part of down.body!) {
    got.update(part);
    bytes += part.length;
  }
  process.stdout.write(`${JSON.stringify({
    uploadStatus: up.status, downloadStatus: down.status, contentLength: down.headers.get('content-length'),
    bytes, sentSha256: sent.digest('hex'), gotSha256: got.digest('hex'),
  })}\n`);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).stack ?? String(err) })}\n`);
  process.exitCode = 1;
});
