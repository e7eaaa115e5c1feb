/**
 * Serves the web client built into client/dist (`npm run build:client`): `/` is the index page
 * (never cached, so a new build is picked up at once, with a Content-Security-Policy), and
 * `/assets/...` the content-hashed bundle files (cached for a year, immutable).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../errors.ts';
import type { Ctx } from '../http/types.ts';

const DIST = path.resolve(import.meta.dirname, '../../client/dist');
/** Asset names as the build writes them: a name, a content hash, an extension (no paths). */
const ASSET_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$/;
/** Names the build gives a content hash (`app-ABCD1234.js`, `chunk-ABCD1234.js`). */
const HASHED = /-[A-Z0-9]{8}\./;

/** The precompressed copies the build writes (client/build.ts), best first. */
const ENCODINGS: Array<[string, string]> = [['br', '.br'], ['gzip', '.gz']];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

const FALLBACK = `<!doctype html><meta charset="utf-8"><title>Whisper</title>
<body style="font-family:system-ui;background:#1e1f22;color:#dbdee1;display:grid;place-items:center;min-height:100vh;margin:0">
<p>This Whisper server is running, but its web app has not been built: run <code>npm run build:client</code>.</p>`;

/** The page may talk to its own origin and this homeserver only; media previews come from blob: URLs. */
export function contentSecurityPolicy(publicUrl: string): string {
  let homeserver = '';
  try {
    const url = new URL(publicUrl);
    homeserver = ` ${url.origin} ${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}`;
  } catch {
    // No public URL (port 0 before listening): 'self' alone.
  }
  return [
    "default-src 'self'",
    // The crypto WASM is compiled in the page.
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob: data:",
    "font-src 'self' data:",
    `connect-src 'self'${homeserver}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function webClientHandlers(publicUrl: () => string) {
  return {
    async index(ctx: Ctx) {
      let page: string;
      try {
        page = await readFile(path.join(DIST, 'index.html'), 'utf8');
      } catch {
        page = FALLBACK;
      }
      ctx.type = 'html';
      ctx.set({
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': contentSecurityPolicy(publicUrl()),
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cross-Origin-Opener-Policy': 'same-origin',
      });
      ctx.body = page;
    },

    async asset(ctx: Ctx) {
      const dir = ctx.params.dir;
      const name = ctx.params.file;
      if ((dir !== undefined && dir !== 'pkg') || !name || !ASSET_NAME.test(name)) throw errors.notFound('No such file');
      const file = path.join(DIST, 'assets', dir ?? '', name);
      const plain = await fileStat(file);
      if (!plain) throw errors.notFound('No such file');
      // The build's precompressed copy, when the browser takes it (brotli first: smaller).
      ctx.vary('Accept-Encoding');
      let sent = { file, ...plain };
      for (const [encoding, suffix] of ENCODINGS) {
        if (ctx.acceptsEncodings(encoding, 'identity') !== encoding) continue;
        const packed = await fileStat(`${file}${suffix}`);
        if (!packed) continue;
        sent = { file: `${file}${suffix}`, ...packed };
        ctx.set('Content-Encoding', encoding);
        break;
      }
      ctx.type = TYPES[path.extname(name)] ?? 'application/octet-stream';
      ctx.length = sent.size;
      ctx.lastModified = plain.mtime;
      ctx.set('X-Content-Type-Options', 'nosniff');
      // Hashed names never change content; the WASM keeps its package's name, so it is revalidated.
      ctx.set('Cache-Control', HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache');
      ctx.status = 200;
      if (ctx.fresh) {
        ctx.status = 304;
        return;
      }
      ctx.body = createReadStream(sent.file);
    },
  };
}

/** Size and time of a regular file, or undefined. */
async function fileStat(file: string): Promise<{ size: number; mtime: Date } | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? { size: s.size, mtime: s.mtime } : undefined;
  } catch {
    return undefined;
  }
}
