/**
 * While a server holds the embedded database, no other process may open it; the admin CLI
 * then sends its command to the server over a Unix socket in the data dir. The socket is
 * mode 0600: only the account that owns the data may use it, as with the files themselves.
 */
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logging.ts';
import type { Services } from '../services/index.ts';
import { describeFailure, runAdminCommand } from './commands.ts';

export interface ControlReply {
  ok: boolean;
  lines: string[];
}

export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, 'admin.sock');
}

const MAX_REQUEST_BYTES = 64 * 1024;

export async function startControlSocket(dataDir: string, services: Services, logger: Logger): Promise<() => Promise<void>> {
  const socketPath = controlSocketPath(dataDir);
  // A stale socket from a crash; we hold the data dir lock, so it is not another server's.
  rmSync(socketPath, { force: true });
  const server = net.createServer((conn) => {
    let buffer = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) return conn.destroy();
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      const reply = (r: ControlReply) => conn.end(`${JSON.stringify(r)}\n`);
      let argv: unknown;
      try {
        argv = JSON.parse(buffer.slice(0, newline)).argv;
      } catch {
        return reply({ ok: false, lines: ['malformed request'] });
      }
      if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) {
        return reply({ ok: false, lines: ['malformed request'] });
      }
      runAdminCommand(services, argv).then(
        (lines) => {
          logger.info({ command: argv.slice(0, 2).join(' ') }, 'admin command');
          reply({ ok: true, lines });
        },
        (err) => {
          const message = describeFailure(err);
          if (!message) logger.error({ err }, 'admin command failed');
          reply({ ok: false, lines: [message ?? 'internal error (see the server log)'] });
        },
      );
    });
    conn.on('error', () => conn.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      rmSync(socketPath, { force: true });
    });
}

/** CLI side: sends one command to the running server. */
export function sendControlCommand(dataDir: string, argv: string[]): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(controlSocketPath(dataDir));
    let buffer = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify({ argv })}\n`));
    conn.on('data', (chunk: string) => (buffer += chunk));
    conn.on('end', () => {
      try {
        resolve(JSON.parse(buffer) as ControlReply);
      } catch {
        reject(new Error('the running server gave no answer'));
      }
    });
    conn.on('error', reject);
  });
}
