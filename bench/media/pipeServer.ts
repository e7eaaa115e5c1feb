/**
 * The floor for moving a file over HTTP on this machine: a bare node:http server with no
 * framework, no token, no hashing and no database. A POST or PUT body is piped into a file
 * with the same write buffer and fsync as Whisper (each file removed once answered); a GET is
 * answered with `serveFile` through fs.createReadStream, the usual Node way, reading the
 * same 256 KiB pieces Whisper sends. Moving the file to and from it in the same run as with
 * Whisper separates Whisper's own cost from what the loopback, the disk and Node's HTTP cost
 * anyway.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { listenOnLoopback } from '../shared/listen.ts';

/** As Whisper's file store writes uploads. */
const WRITE_BUFFER_BYTES = 1024 * 1024;
/** As Whisper sends downloads (homeserver/api/sendFile.ts). */
const READ_BUFFER_BYTES = 256 * 1024;

function receive(dir: string, name: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const file = path.join(dir, name);
  pipeline(req, createWriteStream(file, { flags: 'wx', flush: true, highWaterMark: WRITE_BUFFER_BYTES }))
    .then(() => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ content_uri: `mxc://pipe/${name}` }));
    })
    .catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    })
    .finally(() => rm(file, { force: true }));
}

async function serve(file: string, res: http.ServerResponse): Promise<void> {
  const { size } = await stat(file);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
  await pipeline(createReadStream(file, { highWaterMark: READ_BUFFER_BYTES }), res);
}

export async function startPipeServer(dir: string, serveFile?: string): Promise<{ url: string; close(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  let next = 0;
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET') return receive(dir, `upload-${next++}`, req, res);
    if (!serveFile) return void res.writeHead(404).end();
    serve(serveFile, res).catch(() => res.destroy());
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
