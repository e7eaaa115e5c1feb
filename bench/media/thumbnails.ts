/**
 * Thumbnail throughput: many requests for different sizes of one large JPEG (each made anew),
 * the same again for one size (served from the cache), and sharp doing the same resizes in
 * this process without HTTP or storage (the baseline).
 */
import sharp from 'sharp';

export interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
}

/** Runs `count` jobs, `concurrency` at a time. */
async function rate(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<Rate> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await job(next++);
  }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { count, seconds, perSecond: count / seconds };
}

/** Sizes that differ per request (so none is cached), crop and scale in turn. */
export const sizeFor = (i: number) => ({ width: 96 + (i % 200) * 2, height: 72 + (i % 200), method: i % 2 === 0 ? 'crop' : 'scale' } as const);

export function thumbnailRate(baseUrl: string, token: string, contentUri: string, count: number, concurrency: number, distinct: boolean): Promise<Rate> {
  const path = `${baseUrl}/_matrix/client/v1/media/thumbnail/${contentUri.slice('mxc://'.length)}`;
  return rate(count, concurrency, async (i) => {
    const s = distinct ? sizeFor(i) : { width: 320, height: 240, method: 'scale' };
    const res = await fetch(`${path}?width=${s.width}&height=${s.height}&method=${s.method}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await res.arrayBuffer();
    if (res.status !== 200 || body.byteLength === 0) throw new Error(`thumbnail: ${res.status}`);
  });
}

/** The same resizes with sharp directly, from the same file. */
export function sharpRate(file: string, count: number, concurrency: number): Promise<Rate> {
  return rate(count, concurrency, async (i) => {
    const s = sizeFor(i);
    await sharp(file).resize(s.width, s.height, { fit: s.method === 'crop' ? 'cover' : 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
  });
}

/** A 4000×3000 photo-like JPEG: noise, so it decodes and compresses like a real one. */
export async function writeLargeJpeg(file: string): Promise<void> {
  await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .blur(2)
    .jpeg({ quality: 90 })
    .toFile(file);
}
