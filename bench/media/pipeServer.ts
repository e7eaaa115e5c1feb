/**
 * The floor for an upload over HTTP on this machine: a bare node:http server that pipes each
 * request body into a file with the same write buffer and fsync as Whisper, and nothing else
 * (no framework, no token, no hashing, no database). Uploading to it in the same run as to
 * Whisper separates Whisper's own cost from what the loopback, the disk and Node's HTTP parser
 * cost anyway. Each file is removed once answered.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/** As Whisper's file store writes uploads. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

export async function startPipeServer(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  let next = 0;
  const server = http.createServer((req, res) => {
    const file = path.join(dir, `upload-${next++}`);
    pipeline(req, createWriteStream(file, { flags: 'wx', flush: true, highWaterMark: WRITE_BUFFER_BYTES }))
      .then(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ content_uri: `mxc://pipe/${path.basename(file)}` }));
      })
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      })
      .finally(() => rm(file, { force: true }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
