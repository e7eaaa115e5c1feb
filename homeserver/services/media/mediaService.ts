/**
 * The media repository's rules: uploads (at once, or to an mxc:// id created beforehand),
 * downloads that may wait for a pending upload, and cached thumbnails. Only this server's
 * media exist here: there is no federation to fetch remote media from.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Config } from '../../config.ts';
import { errors } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import * as media from '../../storage/media.ts';
import { notify, type Subscription } from '../../storage/notifications.ts';
import { FileStore } from './fileStore.ts';
import { Thumbnailer, type ThumbnailRequest } from './thumbnails.ts';

/** Sent (with the media id) when a pending id receives its bytes, to wake waiting downloads. */
export const MEDIA_CHANNEL = 'whisper_media_uploaded';

/** Spec: pending ids should expire; 24 hours is the recommended default. */
const PENDING_TTL_MS = 24 * 60 * 60 * 1000;
/** Pending ids one user may hold at once (Synapse's default too). */
const MAX_PENDING_PER_USER = 5;
/** Spec default for timeout_ms, and our cap on it (Synapse's). */
export const DEFAULT_WAIT_MS = 20_000;
export const MAX_WAIT_MS = 60_000;
/** A waiting download re-reads the row this often, in case a notification was missed. */
const RECHECK_MS = 1000;
/** Thumbnails kept per file, oldest dropped first: a client's few sizes stay cached, while
 * asking for every size there is cannot fill the disk. */
const MAX_CACHED_THUMBNAILS = 32;
/** Thumbnails made at once: each holds a decoded image and one of libuv's four pool threads,
 * which every file read and write of the server also needs. */
const THUMBNAIL_CONCURRENCY = 2;

const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;
const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;[\x20-\x7e]*)?$/;

export interface StoredMedia {
  mediaId: string;
  /** As uploaded; application/octet-stream when none (or no sensible one) was given. */
  contentType: string;
  uploadName: string | null;
  size: number;
  sha256: string;
  uploadedTs: number;
}

export interface UploadInfo {
  contentType?: string;
  filename?: string;
}

export type ServedThumbnail =
  | { contentType: string; size: number; data: Buffer; file?: undefined }
  | { contentType: string; size: number; file: FileHandle; data?: undefined };

export class MediaService {
  private readonly db: Db;
  private readonly config: Config;
  private readonly files: FileStore;
  private readonly thumbnailer = new Thumbnailer();
  private readonly thumbnailSlots: LimitFunction = pLimit(THUMBNAIL_CONCURRENCY);
  /** Thumbnails being made, so simultaneous requests for one make it once. */
  private readonly rendering = new Map<string, Promise<ServedThumbnail & { data: Buffer }>>();
  /** Downloads waiting for a pending id, woken by MEDIA_CHANNEL. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** A directory of our own to remove at close (in-memory database: media die with it). */
  private readonly scratchDir: string | undefined;
  private closed = false;

  private constructor(db: Db, config: Config, root: string, scratchDir: string | undefined) {
    this.db = db;
    this.config = config;
    this.files = new FileStore(root);
    this.scratchDir = scratchDir;
  }

  /** Media live in config.mediaPath, else <dataDir>/media, else (in-memory) a temporary directory. */
  static async open(db: Db, config: Config): Promise<MediaService> {
    let root = config.mediaPath ? path.resolve(config.mediaPath) : undefined;
    let scratch: string | undefined;
    if (!root && config.dataDir !== ':memory:') root = path.join(config.dataDir, 'media');
    if (!root) root = scratch = await mkdtemp(path.join(os.tmpdir(), 'whisper-media-'));
    const service = new MediaService(db, config, root, scratch);
    await service.files.init();
    return service;
  }

  /** For the database's notification channel: wakes the downloads waiting for that id. */
  subscription(): Subscription {
    return {
      onMessage: (mediaId) => this.wake(mediaId),
      // Missed notifications are covered by the waiters' periodic re-check.
      onGap: () => {},
    };
  }

  get maxUploadBytes(): number {
    return this.config.maxUploadBytes;
  }

  /** Spec: POST /media/v3/upload. Streams the body to disk; returns the content URI. */
  async upload(userId: string, body: Readable, info: UploadInfo): Promise<string> {
    const meta = this.checkUploadInfo(info);
    const stored = await this.files.receive(body, this.config.maxUploadBytes);
    const mediaId = newMediaId();
    await media.insertUploaded(this.db, mediaId, userId, { ...meta, ...stored }, Date.now());
    return this.mxc(mediaId);
  }

  /** Spec: POST /media/v1/create. A pending id; a user may hold only a few at once. */
  async create(userId: string): Promise<{ content_uri: string; unused_expires_at: number }> {
    const mediaId = newMediaId();
    const now = Date.now();
    const expires = now + PENDING_TTL_MS;
    await this.db.transaction(async (trx) => {
      await media.lockUserMedia(trx, userId);
      const pending = await media.pendingExpiries(trx, userId, now);
      if (pending.length >= MAX_PENDING_PER_USER) throw errors.limitExceeded(pending[0] - now);
      await media.insertPending(trx, mediaId, userId, now, expires);
    });
    return { content_uri: this.mxc(mediaId), unused_expires_at: expires };
  }

  /** Spec: PUT /media/v3/upload/{serverName}/{mediaId}. Only its creator, only once, only before it expires. */
  async uploadTo(userId: string, serverName: string, mediaId: string, body: Readable, info: UploadInfo): Promise<void> {
    this.checkLocal(serverName, mediaId);
    const meta = this.checkUploadInfo(info);
    const row = await media.getMedia(this.db, mediaId);
    if (!row) throw errors.notFound('Unknown media ID.');
    if (row.user_id !== userId) throw errors.forbidden('This media ID was created by another user.');
    if (row.uploaded_ts !== null) throw errors.cannotOverwriteMedia();
    if (row.expires_ts !== null && row.expires_ts <= Date.now()) throw errors.notFound('This media ID has expired.');
    const stored = await this.files.receive(body, this.config.maxUploadBytes);
    const done = await this.db.transaction(async (trx) => {
      if (!(await media.completePending(trx, mediaId, { ...meta, ...stored }, Date.now()))) return false;
      await notify(trx, MEDIA_CHANNEL, mediaId);
      return true;
    });
    // Filled by a concurrent PUT, or dropped as expired while this one was arriving.
    if (!done) throw (await media.getMedia(this.db, mediaId)) ? errors.cannotOverwriteMedia() : errors.notFound('This media ID has expired.');
  }

  /**
   * What an mxc:// URI holds. A pending id is waited for up to `waitMs` (woken when its
   * upload lands, in this process or another): then M_NOT_YET_UPLOADED.
   */
  async describe(serverName: string, mediaId: string, waitMs: number): Promise<StoredMedia> {
    this.checkLocal(serverName, mediaId);
    const deadline = Date.now() + Math.min(waitMs, MAX_WAIT_MS);
    for (;;) {
      const row = await media.getMedia(this.db, mediaId);
      if (!row) throw errors.notFound('Media not found.');
      if (row.uploaded_ts !== null) return toStoredMedia(row);
      const now = Date.now();
      if (row.expires_ts !== null && row.expires_ts <= now) throw errors.notFound('Media not found.');
      if (now >= deadline || this.closed) throw errors.notYetUploaded();
      await this.nextUpload(mediaId, Math.min(deadline - now, RECHECK_MS));
    }
  }

  /** The bytes of uploaded media; the caller closes the handle (a stream over it does). */
  async openContent(m: StoredMedia): Promise<FileHandle> {
    const handle = await this.files.open(this.files.contentPath(m.sha256));
    if (!handle) throw errors.notFound('Media not found.');
    return handle;
  }

  /** A thumbnail, from the cache or made now (and cached, within a per-file budget). */
  async thumbnail(m: StoredMedia, req: ThumbnailRequest): Promise<ServedThumbnail> {
    const key = { sha256: m.sha256, width: req.width, height: req.height, method: req.method, animated: req.animated };
    const cached = await media.getThumbnail(this.db, key);
    const file = cached && (await this.files.open(cached.file_name));
    // The size on disk, not the row's: a length that disagrees with the bytes would hang the client.
    if (cached && file) return { contentType: cached.content_type, size: (await file.stat()).size, file };
    const id = `${key.sha256}/${key.width}x${key.height}-${key.method}-${key.animated}`;
    let making = this.rendering.get(id);
    if (!making) {
      making = this.thumbnailSlots(() => this.makeThumbnail(key)).finally(() => this.rendering.delete(id));
      this.rendering.set(id, making);
    }
    return making;
  }

  /** Forgets pending ids that expired unused (housekeeping). */
  async deleteExpired(): Promise<void> {
    await media.deleteExpiredPending(this.db, Date.now());
  }

  /** Releases waiting downloads (they answer M_NOT_YET_UPLOADED) and removes a scratch directory. */
  async close(): Promise<void> {
    this.closed = true;
    for (const mediaId of [...this.waiters.keys()]) this.wake(mediaId);
    if (this.scratchDir) await rm(this.scratchDir, { recursive: true, force: true });
  }

  private async makeThumbnail(key: media.ThumbnailKey & ThumbnailRequest): Promise<ServedThumbnail & { data: Buffer }> {
    const thumb = await this.thumbnailer.render(this.files.contentPath(key.sha256), key);
    const ext = thumb.contentType.slice('image/'.length);
    const name = `${key.width}x${key.height}-${key.method}${key.animated ? '-animated' : ''}.${ext}`;
    const fileName = await this.files.writeThumbnail(key.sha256, name, thumb.data);
    const dropped = await this.db.transaction(async (trx) => {
      await media.insertThumbnail(trx, {
        ...key, content_type: thumb.contentType, size: thumb.data.length, file_name: fileName, created_ts: Date.now(),
      });
      return media.trimThumbnails(trx, key.sha256, MAX_CACHED_THUMBNAILS);
    });
    // A reader may still have one open: unlinking leaves its bytes readable to it.
    await Promise.all(dropped.map((f) => this.files.remove(f)));
    return { contentType: thumb.contentType, size: thumb.data.length, data: thumb.data };
  }

  private mxc(mediaId: string): string {
    return `mxc://${this.config.serverName}/${mediaId}`;
  }

  /** Media of other servers would need federation: they are simply not here. */
  private checkLocal(serverName: string, mediaId: string): void {
    if (serverName !== this.config.serverName || !MEDIA_ID.test(mediaId)) throw errors.notFound('Media not found.');
  }

  private checkUploadInfo(info: UploadInfo): { content_type: string | null; upload_name: string | null } {
    const filename = info.filename === undefined || info.filename === '' ? null : info.filename;
    if (filename !== null && (filename.length > 255 || /[\x00-\x1f\x7f]/.test(filename))) {
      throw errors.invalidParam('filename must be at most 255 characters, without control characters.');
    }
    const type = info.contentType?.trim();
    // A missing or garbled type is stored as unknown and served as application/octet-stream.
    const contentType = type && type.length <= 255 && MEDIA_TYPE.test(type) ? type : null;
    return { content_type: contentType, upload_name: filename };
  }

  private nextUpload(mediaId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(mediaId);
      if (!set) this.waiters.set(mediaId, (set = new Set()));
      const waiting = set;
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (waiting.size === 0 && this.waiters.get(mediaId) === waiting) this.waiters.delete(mediaId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiting.add(wake);
    });
  }

  private wake(mediaId: string): void {
    for (const wake of [...(this.waiters.get(mediaId) ?? [])]) wake();
  }
}

/** 24 URL-safe characters, as Synapse's; 144 random bits. */
function newMediaId(): string {
  return randomBytes(18).toString('base64url');
}

function toStoredMedia(row: media.MediaRow): StoredMedia {
  return {
    mediaId: row.media_id,
    contentType: row.content_type ?? 'application/octet-stream',
    uploadName: row.upload_name,
    size: row.size ?? 0,
    sha256: row.sha256!,
    uploadedTs: row.uploaded_ts!,
  };
}
