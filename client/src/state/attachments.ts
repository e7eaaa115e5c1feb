/**
 * Attachments of encrypted rooms as the Matrix spec's EncryptedFile (what Element sends and
 * opens): the browser encrypts each file with a fresh AES-256-CTR key before uploading it, so the
 * server keeps only ciphertext; the key, the iv and the ciphertext's SHA-256 travel inside the
 * event, which Megolm encrypts. The cipher work is matrix-encrypt-attachment's, over WebCrypto.
 * Also the rule for which pictures are shown from a thumbnail, and the client-made thumbnail an
 * encrypted picture needs (the server cannot scale ciphertext).
 */
import type { EncryptedFile } from 'matrix-js-sdk/lib/@types/media.js';
import { decryptAttachment, encryptAttachment } from 'matrix-encrypt-attachment/lib/webcrypto.js';

export type { EncryptedFile };

/** The ciphertext to upload, and the EncryptedFile that opens it once `url` is set to where it went. */
export async function sealFile(file: Blob): Promise<{ data: Blob; file: Omit<EncryptedFile, 'url'> }> {
  const { data, info } = await encryptAttachment(await file.arrayBuffer());
  return { data: new Blob([data]), file: { v: 'v2', hashes: {}, ...info } as Omit<EncryptedFile, 'url'> };
}

/**
 * Types a decrypted file may be shown as. Anything else becomes opaque bytes: a blob: URL has
 * this page's origin, so a file claiming to be HTML or SVG must never be opened as one.
 */
const SHOWABLE = /^(image\/(png|jpeg|gif|webp|avif|bmp)|video\/(mp4|webm|ogg|quicktime)|audio\/(mpeg|ogg|wav|webm|mp4|aac|flac))$/;

/** Decrypts a downloaded attachment; rejects when the ciphertext's SHA-256 is not the one the event names. */
export async function openFile(ciphertext: ArrayBuffer, file: EncryptedFile, mimetype?: string): Promise<Blob> {
  const plain = await decryptAttachment(ciphertext, file);
  return new Blob([plain], { type: mimetype && SHOWABLE.test(mimetype) ? mimetype : 'application/octet-stream' });
}

export function isEncryptedFile(x: unknown): x is EncryptedFile {
  const f = x as EncryptedFile | undefined;
  return typeof f?.url === 'string' && typeof f.iv === 'string' && typeof f.key?.k === 'string' && typeof f.hashes?.sha256 === 'string';
}

/** The largest size pictures are drawn at in the timeline; bigger ones are shown from a thumbnail. */
export const THUMBNAIL_SIZE = { w: 800, h: 600 };

/** Whether a picture is big enough to be shown from a thumbnail (the original is a click away). */
export function isBigImage(info: { size?: number; w?: number } | undefined): boolean {
  return (info?.size ?? 0) > 512 * 1024 || (info?.w ?? 0) > 1600;
}

/** A picture scaled down to fit THUMBNAIL_SIZE (PNG keeps transparency, others become JPEG); undefined when it cannot be read. */
export async function makeThumbnail(file: Blob): Promise<{ blob: Blob; w: number; h: number } | undefined> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    return undefined;
  }
  const scale = Math.min(1, THUMBNAIL_SIZE.w / bmp.width, THUMBNAIL_SIZE.h / bmp.height);
  const w = Math.max(1, Math.round(bmp.width * scale));
  const h = Math.max(1, Math.round(bmp.height * scale));
  const canvas = new OffscreenCanvas(w, h);
  canvas.getContext('2d')!.drawImage(bmp, 0, 0, w, h);
  bmp.close();
  const blob = await canvas.convertToBlob(file.type === 'image/png' ? { type: 'image/png' } : { type: 'image/jpeg', quality: 0.85 });
  return { blob, w, h };
}
