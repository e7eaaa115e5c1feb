/**
 * Thumbnails with sharp (libvips). Only common raster formats are decoded, the input's pixel
 * count is capped (a small file may declare an enormous image), and the output is JPEG for
 * photos, PNG for images with transparency, and animated WebP only when asked for and the
 * source moves.
 */
import sharp from 'sharp';
import { errors, MatrixError } from '../../errors.ts';

export type ThumbnailMethod = 'crop' | 'scale';

export interface ThumbnailRequest {
  width: number;
  height: number;
  method: ThumbnailMethod;
  animated: boolean;
}

export interface Thumbnail {
  data: Buffer;
  contentType: string;
  /** Of one frame, for an animated thumbnail. */
  width: number;
  height: number;
}

/** Formats thumbnailed; SVG, PDF, TIFF, HEIF… are refused rather than handed to their decoders. */
const DECODED = new Set(['jpeg', 'png', 'gif', 'webp']);
const ANIMATABLE = new Set(['gif', 'webp']);
/** 64 megapixels: beyond any phone photo, well short of what would exhaust memory. */
const MAX_INPUT_PIXELS = 64_000_000;
const TIMEOUT_SEC = 30;

export class Thumbnailer {
  constructor() {
    // libvips' operation cache would keep decoded images resident between requests: every
    // thumbnail is made once and then served from disk, so the cache only costs memory.
    sharp.cache(false);
  }

  async render(file: string, req: ThumbnailRequest): Promise<Thumbnail> {
    const meta = await sharp(file, { limitInputPixels: MAX_INPUT_PIXELS }).metadata().catch((err: unknown) => {
      throw refusal(err);
    });
    if (!meta.format || !DECODED.has(meta.format) || !meta.width || !meta.height) throw errors.cannotThumbnail();
    const animated = req.animated && (meta.pages ?? 1) > 1 && ANIMATABLE.has(meta.format);
    // Dimensions as displayed: one frame, EXIF rotation applied.
    const frameHeight = meta.pageHeight ?? meta.height;
    const turned = (meta.orientation ?? 1) >= 5;
    const srcW = turned ? frameHeight : meta.width;
    const srcH = turned ? meta.width : frameHeight;

    let image = sharp(file, { limitInputPixels: MAX_INPUT_PIXELS, animated, autoOrient: true }).timeout({ seconds: TIMEOUT_SEC });
    if (req.method === 'scale') {
      image = image.resize(req.width, req.height, { fit: 'inside', withoutEnlargement: true });
    } else {
      // Cover exactly width×height; from a smaller source, the largest crop of that shape
      // (never upscaled: the client scales anyway, and a bigger file helps nobody).
      const shrink = Math.min(1, srcW / req.width, srcH / req.height);
      image = image.resize(Math.max(1, Math.round(req.width * shrink)), Math.max(1, Math.round(req.height * shrink)), { fit: 'cover' });
    }
    let contentType: string;
    if (animated) {
      image = image.webp({ quality: 80 });
      contentType = 'image/webp';
    } else if (meta.format === 'jpeg' || (meta.format === 'webp' && !meta.hasAlpha)) {
      image = image.jpeg({ quality: 80 });
      contentType = 'image/jpeg';
    } else {
      image = image.png();
      contentType = 'image/png';
    }
    const { data, info } = await image.toBuffer({ resolveWithObject: true }).catch((err: unknown) => {
      throw refusal(err);
    });
    return { data, contentType, width: info.width, height: info.pageHeight ?? info.height };
  }
}

/** What a decoder failure means to the client: too big, or not something we can thumbnail. */
function refusal(err: unknown): MatrixError {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) return errors.tooLarge('Content is too large to thumbnail.');
  return errors.cannotThumbnail();
}
