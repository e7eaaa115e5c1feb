/**
 * URL previews (GET /media/v1/preview_url): a page's OpenGraph data, its image stored in the
 * media repository so clients load it from here rather than from the page's host. Off unless
 * the operator turns it on, since the server then fetches what its users link.
 */
import { Readable } from 'node:stream';
import { Parser } from 'htmlparser2';
import { LRUCache } from 'lru-cache';
import pLimit, { type LimitFunction } from 'p-limit';
import sharp, { type Metadata } from 'sharp';
import type { Config } from '../../config.ts';
import { errors } from '../../errors.ts';
import type { MediaService } from './mediaService.ts';
import { fetchResource, previewableUrl, type FetchLimits } from './webFetch.ts';

export type Preview = Record<string, string | number>;

/** Enough of a page for its <head>; the rest is not read. */
const MAX_PAGE_BYTES = 1024 * 1024;
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** Previews are kept this long: every member of a room asks for the same link at once. */
const CACHE_TTL_MS = 60 * 60 * 1000;
const CACHE_ENTRIES = 1000;
/** Pages fetched at once, whoever asks. */
const FETCH_CONCURRENCY = 4;
const MAX_TEXT = 500;
/** What a page may tell about itself; everything else in its <meta> tags is ignored. */
const KEPT = /^og:(title|description|site_name|type|url|image|image:alt|image:width|image:height)$/;

export class UrlPreviewService {
  private readonly config: Config;
  private readonly media: MediaService;
  private readonly cache = new LRUCache<string, Promise<Preview>>({ max: CACHE_ENTRIES, ttl: CACHE_TTL_MS });
  private readonly slots: LimitFunction = pLimit(FETCH_CONCURRENCY);

  constructor(config: Config, media: MediaService) {
    this.config = config;
    this.media = media;
  }

  preview(userId: string, rawUrl: string): Promise<Preview> {
    if (!this.config.urlPreviews) {
      throw errors.unrecognized(404, 'URL previews are off on this server (WHISPER_URL_PREVIEWS).');
    }
    const url = previewableUrl(rawUrl);
    const key = url.href;
    let pending = this.cache.get(key);
    if (!pending) {
      pending = this.slots(() => this.build(userId, url));
      this.cache.set(key, pending);
      // A failure is not remembered: the page may answer next time.
      pending.catch(() => this.cache.delete(key));
    }
    return pending;
  }

  private get limits(): Omit<FetchLimits, 'maxBytes'> {
    return { timeoutMs: 10_000, maxRedirects: 5, allowedIps: this.config.urlPreviewAllowedIps };
  }

  private async build(userId: string, url: URL): Promise<Preview> {
    const page = await fetchResource(url, { ...this.limits, maxBytes: MAX_PAGE_BYTES }, 'text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.1');
    if (page.mediaType.startsWith('image/')) {
      if (page.truncated) return { 'og:url': page.url.href };
      return { 'og:url': page.url.href, ...(await this.storeImage(userId, page.body, page.mediaType)) };
    }
    if (page.mediaType !== 'text/html' && page.mediaType !== 'application/xhtml+xml') return {};
    const found = readHead(decode(page.body, page.charset));
    const preview: Preview = {};
    for (const [key, value] of Object.entries(found)) preview[key] = value;
    const imageUrl = found['og:image'];
    delete preview['og:image'];
    if (imageUrl) Object.assign(preview, await this.fetchImage(userId, imageUrl, page.url));
    return preview;
  }

  /** The page's image, fetched with the same limits; a preview without it is still useful. */
  private async fetchImage(userId: string, link: string, base: URL): Promise<Preview> {
    try {
      const url = previewableUrl(new URL(link, base).href);
      const image = await fetchResource(url, { ...this.limits, maxBytes: MAX_IMAGE_BYTES }, 'image/*');
      if (!image.mediaType.startsWith('image/') || image.truncated) return {};
      return await this.storeImage(userId, image.body, image.mediaType);
    } catch {
      return {};
    }
  }

  private async storeImage(userId: string, data: Buffer, mediaType: string): Promise<Preview> {
    let meta: Metadata;
    try {
      meta = await sharp(data).metadata();
    } catch {
      return {};
    }
    const mxc = await this.media.upload(userId, Readable.from([data]), { contentType: mediaType, filename: 'preview' });
    const out: Preview = { 'og:image': mxc, 'og:image:type': mediaType, 'matrix:image:size': data.length };
    if (meta.width) out['og:image:width'] = meta.width;
    if (meta.height) out['og:image:height'] = meta.height;
    return out;
  }
}

function decode(body: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}

/**
 * OpenGraph tags, with the plain <title> and description meta (and Twitter's card tags) as
 * fallbacks, the way Synapse and most chat apps read a page.
 */
export function readHead(html: string): Record<string, string> {
  const og: Record<string, string> = {};
  const fallback: Record<string, string> = {};
  let title = '';
  let inTitle = false;
  const parser = new Parser({
    onopentag(name, attrs) {
      if (name === 'title') inTitle = true;
      if (name !== 'meta' || attrs.content === undefined) return;
      const key = (attrs.property ?? attrs.name ?? '').toLowerCase();
      const content = clean(attrs.content);
      if (!content) return;
      if (KEPT.test(key) && !(key in og)) og[key] = content;
      else if (key === 'description' || key === 'twitter:description') fallback['og:description'] ??= content;
      else if (key === 'twitter:title') fallback['og:title'] ??= content;
      else if (key === 'twitter:image' || key === 'twitter:image:src') fallback['og:image'] ??= content;
    },
    ontext(text) {
      if (inTitle) title += text;
    },
    onclosetag(name) {
      if (name === 'title') inTitle = false;
    },
  }, { decodeEntities: true });
  parser.write(html);
  parser.end();
  if (title.trim()) fallback['og:title'] ??= clean(title);
  return { ...fallback, ...og };
}

function clean(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat;
}
