/**
 * Authenticated media: downloads under /_matrix/client/v1/media need the access token as a
 * header, which <img src> cannot send, so files are fetched once and shown from blob: URLs.
 * A file of an encrypted room (an EncryptedFile) is decrypted, its hash checked, on the way.
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { isEncryptedFile, openFile, type EncryptedFile } from './attachments.ts';

/** Where a file is: an mxc: URI (plain), or an EncryptedFile (whose url is the ciphertext's). */
export type MediaSource = string | EncryptedFile | undefined;

export class MediaCache {
  private readonly client: MatrixClient;
  private readonly urls = new Map<string, Promise<string | undefined>>();
  private readonly ready = new Map<string, string>();
  private readonly onLoaded: () => void;

  constructor(client: MatrixClient, onLoaded: () => void) {
    this.client = client;
    this.onLoaded = onLoaded;
  }

  /**
   * The blob: URL for `source` once loaded (a server-made thumbnail when a size is given; an
   * encrypted file is always whole, its thumbnail being a file of its own); starts loading otherwise.
   * `mimetype` types a decrypted file (plain ones are typed by the server).
   */
  url(source: MediaSource, size?: { w: number; h: number }, mimetype?: string): string | undefined {
    const encrypted = isEncryptedFile(source) ? source : undefined;
    const mxc = encrypted ? encrypted.url : source;
    if (typeof mxc !== 'string' || !mxc.startsWith('mxc://')) return undefined;
    const key = encrypted ? `${mxc}#encrypted` : size ? `${mxc}#${size.w}x${size.h}` : mxc;
    const done = this.ready.get(key);
    if (done) return done;
    if (!this.urls.has(key)) this.urls.set(key, this.load(key, () => this.fetchBlob(source, encrypted ? undefined : size, mimetype)));
    return undefined;
  }

  private async load(key: string, fetchBlob: () => Promise<Blob | undefined>): Promise<string | undefined> {
    try {
      const blob = await fetchBlob();
      if (!blob) return undefined;
      const url = URL.createObjectURL(blob);
      this.ready.set(key, url);
      this.onLoaded();
      return url;
    } catch (err) {
      // A network failure is tried again on the next draw; a file that does not decrypt (its hash does not match) is not.
      if (err instanceof TypeError) this.urls.delete(key);
      return undefined;
    }
  }

  /** The file's bytes (decrypted when encrypted); undefined when the server has no such file. */
  private async fetchBlob(source: MediaSource, size?: { w: number; h: number }, mimetype?: string): Promise<Blob | undefined> {
    const encrypted = isEncryptedFile(source) ? source : undefined;
    const mxc = encrypted ? encrypted.url : source;
    const http = typeof mxc === 'string' && mxc.startsWith('mxc://')
      ? this.client.mxcUrlToHttp(mxc, size?.w, size?.h, size ? 'scale' : undefined, false, true, true) : null;
    if (!http) return undefined;
    const res = await fetch(http, { headers: { Authorization: `Bearer ${this.client.getAccessToken()}` } });
    if (!res.ok) return undefined;
    return encrypted ? openFile(await res.arrayBuffer(), encrypted, mimetype ?? (encrypted as { mimetype?: string }).mimetype) : res.blob();
  }

  /** Downloads `source` (decrypting it) and hands it to the browser as a file named `name`. */
  async download(source: MediaSource, name: string): Promise<void> {
    const blob = await this.fetchBlob(source);
    if (!blob) throw new Error('The file could not be downloaded');
    // Saved as bytes whatever the type: a download must never open in this page's origin.
    const url = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  dispose(): void {
    for (const url of this.ready.values()) URL.revokeObjectURL(url);
    this.ready.clear();
    this.urls.clear();
  }
}
