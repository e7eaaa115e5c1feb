/**
 * Spec: the content repository. Uploads (POST /media/v3/upload, async POST /media/v1/create +
 * PUT /media/v3/upload/{serverName}/{mediaId}), authenticated downloads and thumbnails under
 * /_matrix/client/v1/media, the config, and the deprecated unauthenticated /media/v3 reads
 * (off unless configured, answering 404 M_NOT_FOUND like Synapse with authenticated media).
 *
 * Upload bodies are the file itself: the JSON body parser skips these paths and the handler
 * hands the request stream to the service, which writes it to disk as it arrives.
 */
import contentDisposition from 'content-disposition';
import { combineRanges, parse as parseRange } from 'range-parser';
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Ctx } from '../http/types.ts';
import type { Services } from '../services/index.ts';
import { DEFAULT_WAIT_MS, type StoredMedia } from '../services/media/mediaService.ts';
import { sendFileRange } from './sendFile.ts';
import { parseQuery, queryBoolean } from './validate.ts';

/** Spec "serving inline content": types a browser may show in place; anything else downloads. */
const INLINE_TYPES = new Set([
  'text/css', 'text/plain', 'text/csv', 'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav',
  'audio/x-wav', 'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

/**
 * Served with every file: even if a browser is led to open one (an HTML upload, say) it runs
 * nothing and loads nothing (the policy Synapse sends).
 */
const MEDIA_HEADERS = {
  'Content-Security-Policy': "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';",
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  // Media never change once uploaded; private because reading them needs a token.
  'Cache-Control': 'private, max-age=31536000, immutable',
};

/** Largest thumbnail side: bigger asks are scaled down to it (keeping their shape). */
const MAX_THUMBNAIL_SIDE = 1600;

const count = (max: number) => z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer').transform(Number).pipe(z.number().int().min(0).max(max));
const timeoutMs = count(Number.MAX_SAFE_INTEGER).optional();
const uploadQuery = z.object({ filename: z.string().optional() });
const downloadQuery = z.object({ timeout_ms: timeoutMs });
const thumbnailQuery = z.object({
  width: count(Number.MAX_SAFE_INTEGER).pipe(z.number().min(1)),
  height: count(Number.MAX_SAFE_INTEGER).pipe(z.number().min(1)),
  method: z.enum(['crop', 'scale']).default('scale'),
  animated: queryBoolean.optional(),
  timeout_ms: timeoutMs,
});
/** `ts` (the moment the client would like a preview of) is accepted and ignored: the newest is given. */
const previewQuery = z.object({ url: z.string().min(1).max(2048), ts: count(Number.MAX_SAFE_INTEGER).optional() });
const FILE_NAME = /^[^\x00-\x1f\x7f]{1,255}$/;

export function mediaHandlers(s: Services) {
  async function download(ctx: Ctx): Promise<void> {
    const { timeout_ms } = parseQuery(downloadQuery, ctx.query);
    const { serverName, mediaId, fileName } = ctx.params;
    if (fileName !== undefined && !FILE_NAME.test(fileName)) throw errors.invalidParam('Bad file name.');
    const m = await s.media.describe(serverName, mediaId, timeout_ms ?? DEFAULT_WAIT_MS);
    await sendMedia(ctx, s, m, fileName ?? m.uploadName);
  }

  async function thumbnail(ctx: Ctx): Promise<void> {
    const q = parseQuery(thumbnailQuery, ctx.query);
    const m = await s.media.describe(ctx.params.serverName, ctx.params.mediaId, q.timeout_ms ?? DEFAULT_WAIT_MS);
    const shrink = Math.min(1, MAX_THUMBNAIL_SIDE / Math.max(q.width, q.height));
    const thumb = await s.media.thumbnail(m, {
      width: Math.max(1, Math.round(q.width * shrink)),
      height: Math.max(1, Math.round(q.height * shrink)),
      method: q.method,
      animated: q.animated ?? false,
    });
    ctx.set(MEDIA_HEADERS);
    ctx.set('Content-Type', thumb.contentType);
    ctx.set('Content-Disposition', contentDisposition(`thumbnail.${thumb.contentType.slice('image/'.length)}`, { type: 'inline' }));
    ctx.body = thumb.file ? thumb.file.createReadStream() : thumb.data;
    ctx.length = thumb.size;
  }

  /** The legacy reads answer only when the operator turned them on. */
  const legacy = (serve: (ctx: Ctx) => Promise<void>) => async (ctx: Ctx) => {
    if (!s.config.legacyUnauthenticatedMedia) {
      throw errors.notFound('Unauthenticated media access is disabled: use /_matrix/client/v1/media.');
    }
    await serve(ctx);
  };

  return {
    async upload(ctx: Ctx) {
      const uri = await receiving(ctx, s.media.maxUploadBytes, () => {
        const { filename } = parseQuery(uploadQuery, ctx.query);
        return s.media.upload(ctx.state.requester!.userId, ctx.req, { contentType: ctx.get('Content-Type') || undefined, filename });
      });
      ctx.body = { content_uri: uri };
    },

    async create(ctx: Ctx) {
      ctx.body = await s.media.create(ctx.state.requester!.userId);
    },

    async uploadTo(ctx: Ctx) {
      await receiving(ctx, s.media.maxUploadBytes, () => {
        const { filename } = parseQuery(uploadQuery, ctx.query);
        return s.media.uploadTo(ctx.state.requester!.userId, ctx.params.serverName, ctx.params.mediaId, ctx.req, {
          contentType: ctx.get('Content-Type') || undefined, filename,
        });
      });
      ctx.body = {};
    },

    download,
    thumbnail,
    legacyDownload: legacy(download),
    legacyThumbnail: legacy(thumbnail),

    config(ctx: Ctx) {
      ctx.body = { 'm.upload.size': s.media.maxUploadBytes };
    },

    async previewUrl(ctx: Ctx) {
      const { url } = parseQuery(previewQuery, ctx.query);
      ctx.body = await s.urlPreviews.preview(ctx.state.requester!.userId, url);
    },
  };
}

/**
 * Runs an upload. A declared length over the limit is refused before reading; a refusal
 * (413, or any other) while the client may still be sending closes the connection after
 * the answer, rather than reading up to the limit's worth of unwanted bytes.
 */
async function receiving<T>(ctx: Ctx, limit: number, upload: () => Promise<T>): Promise<T> {
  try {
    const declared = ctx.get('Content-Length');
    if (declared !== '' && Number(declared) > limit) throw errors.tooLarge(`Upload larger than the limit of ${limit} bytes.`);
    return await upload();
  } catch (err) {
    if (!ctx.req.complete) ctx.set('Connection', 'close');
    throw err;
  }
}

/** Streams a stored file: headers, conditional GET, a single byte range. */
async function sendMedia(ctx: Ctx, s: Services, m: StoredMedia, fileName: string | null): Promise<void> {
  const etag = `"${m.sha256}"`;
  const range = byteRange(ctx, m.size, etag);
  const notModified = ctx.get('If-None-Match').split(',').some((t) => t.trim() === etag);
  const baseType = m.contentType.split(';')[0].trim().toLowerCase();
  const headers = {
    ...MEDIA_HEADERS,
    'Content-Type': m.contentType,
    'Content-Disposition': contentDisposition(fileName ?? undefined, { type: INLINE_TYPES.has(baseType) ? 'inline' : 'attachment' }),
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Last-Modified': new Date(m.uploadedTs).toUTCString(),
  };
  if (notModified || m.size === 0) {
    ctx.set(headers);
    if (notModified) ctx.status = 304;
    else ctx.body = Buffer.alloc(0);
    return;
  }
  // Opened before any header is set, so a missing file is a clean 404. From here on nothing
  // throws before sendFileRange, which closes it.
  const file = await s.media.openContent(m);
  const start = range?.start ?? 0;
  const end = range?.end ?? m.size - 1;
  ctx.set(headers);
  ctx.status = range ? 206 : 200;
  if (range) ctx.set('Content-Range', `bytes ${start}-${end}/${m.size}`);
  ctx.length = end - start + 1;
  // The body is written here through a few reused buffers (sendFile.ts), not by Koa piping an
  // fs.ReadStream: the status and headers set above are on the response already.
  ctx.respond = false;
  if (ctx.method === 'HEAD') {
    await file.close();
    ctx.res.end();
    return;
  }
  await sendFileRange(ctx.res, file, start, end);
}

/**
 * The one range to send, or undefined for the whole file. Only a single range is honoured
 * (several are answered with the whole file, which RFC 9110 allows); a malformed header is
 * ignored; If-Range with another validator means the whole file.
 */
function byteRange(ctx: Ctx, size: number, etag: string): { start: number; end: number } | undefined {
  const header = ctx.get('Range');
  if (!header) return undefined;
  const ifRange = ctx.get('If-Range');
  if (ifRange && ifRange !== etag) return undefined;
  const parsed = parseRange(size, header);
  if (parsed.type !== 'bytes' || parsed.code & 1) return undefined;
  const ranges = combineRanges(parsed.ranges);
  if (ranges.length === 0) {
    if (parsed.code & 2) throw errors.rangeNotSatisfiable(size);
    return undefined;
  }
  return ranges.length === 1 ? { start: ranges[0].start, end: ranges[0].end } : undefined;
}
