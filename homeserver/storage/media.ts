/** The media and media_thumbnails tables: what each mxc:// id holds, and the thumbnails made of it. */
import type { Queryable } from './database.ts';

export interface MediaRow {
  media_id: string;
  user_id: string;
  content_type: string | null;
  upload_name: string | null;
  size: number | null;
  sha256: string | null;
  created_ts: number;
  /** Null while the id is pending (created, bytes not yet uploaded). */
  uploaded_ts: number | null;
  expires_ts: number | null;
}

export interface UploadedContent {
  content_type: string | null;
  upload_name: string | null;
  size: number;
  sha256: string;
}

export interface ThumbnailRow {
  sha256: string;
  width: number;
  height: number;
  method: string;
  animated: boolean;
  content_type: string;
  size: number;
  file_name: string;
  created_ts: number;
}

const num = (v: unknown): number | null => (v == null ? null : Number(v));

function toMedia(r: MediaRow): MediaRow {
  return { ...r, size: num(r.size), created_ts: Number(r.created_ts), uploaded_ts: num(r.uploaded_ts), expires_ts: num(r.expires_ts) };
}

export async function getMedia(q: Queryable, mediaId: string): Promise<MediaRow | undefined> {
  const r = await q<MediaRow>('media').where({ media_id: mediaId }).first();
  return r && toMedia(r);
}

export async function insertUploaded(q: Queryable, mediaId: string, userId: string, content: UploadedContent, now: number): Promise<void> {
  await q('media').insert({ media_id: mediaId, user_id: userId, ...content, created_ts: now, uploaded_ts: now, expires_ts: null });
}

export async function insertPending(q: Queryable, mediaId: string, userId: string, now: number, expiresTs: number): Promise<void> {
  await q('media').insert({ media_id: mediaId, user_id: userId, created_ts: now, uploaded_ts: null, expires_ts: expiresTs });
}

/** Fills a pending id; false when it was filled meanwhile (only the first upload wins). */
export async function completePending(q: Queryable, mediaId: string, content: UploadedContent, now: number): Promise<boolean> {
  const n = await q('media').where({ media_id: mediaId }).whereNull('uploaded_ts').update({ ...content, uploaded_ts: now, expires_ts: null });
  return n > 0;
}

/** Expiry times of the user's ids that are still pending and usable, soonest first. */
export async function pendingExpiries(q: Queryable, userId: string, now: number): Promise<number[]> {
  const rows = await q('media').where({ user_id: userId }).whereNull('uploaded_ts').where('expires_ts', '>', now).orderBy('expires_ts').select('expires_ts');
  return rows.map((r: { expires_ts: string | number }) => Number(r.expires_ts));
}

export async function deleteExpiredPending(q: Queryable, now: number): Promise<number> {
  return q('media').whereNull('uploaded_ts').where('expires_ts', '<=', now).delete();
}

/** Serializes one user's pending-id bookkeeping (inside a transaction; released at its end). */
export async function lockUserMedia(q: Queryable, userId: string): Promise<void> {
  await q.raw("SELECT pg_advisory_xact_lock(hashtext('media:' || ?))", [userId]);
}

export interface ThumbnailKey {
  sha256: string;
  width: number;
  height: number;
  method: string;
  animated: boolean;
}

export async function getThumbnail(q: Queryable, key: ThumbnailKey): Promise<ThumbnailRow | undefined> {
  const r = await q<ThumbnailRow>('media_thumbnails').where(key).first();
  return r && { ...r, size: Number(r.size), created_ts: Number(r.created_ts) };
}

/** Deletes the file's thumbnails beyond the `keep` newest; returns their file names. */
export async function trimThumbnails(q: Queryable, sha256: string, keep: number): Promise<string[]> {
  const old = await q('media_thumbnails').where({ sha256 }).orderBy('created_ts', 'desc').offset(keep).select('width', 'height', 'method', 'animated', 'file_name');
  for (const r of old) await q('media_thumbnails').where({ sha256, width: r.width, height: r.height, method: r.method, animated: r.animated }).delete();
  return old.map((r: { file_name: string }) => r.file_name);
}

/** Records a thumbnail; a concurrent writer of the same key keeps its row (same bytes). */
export async function insertThumbnail(q: Queryable, row: ThumbnailRow): Promise<void> {
  await q('media_thumbnails').insert(row).onConflict(['sha256', 'width', 'height', 'method', 'animated']).ignore();
}
