/**
 * Authenticated media: downloads under /_matrix/client/v1/media need the access token as a
 * header, which <img src> cannot send, so files are fetched once and shown from blob: URLs.
 */
import type { MatrixClient } from 'matrix-js-sdk';

export class MediaCache {
  private readonly client: MatrixClient;
  private readonly urls = new Map<string, Promise<string | undefined>>();
  private readonly ready = new Map<string, string>();
  private readonly onLoaded: () => void;

  constructor(client: MatrixClient, onLoaded: () => void) {
    this.client = client;
    this.onLoaded = onLoaded;
  }

  /** The blob: URL for `mxc` (a thumbnail when a size is given) once loaded; starts loading otherwise. */
  url(mxc: string | undefined, size?: { w: number; h: number }): string | undefined {
    if (!mxc?.startsWith('mxc://')) return undefined;
    const key = size ? `${mxc}#${size.w}x${size.h}` : mxc;
    const done = this.ready.get(key);
    if (done) return done;
    if (!this.urls.has(key)) this.urls.set(key, this.load(key, mxc, size));
    return undefined;
  }

  private async load(key: string, mxc: string, size?: { w: number; h: number }): Promise<string | undefined> {
    const http = this.client.mxcUrlToHttp(mxc, size?.w, size?.h, size ? 'scale' : undefined, false, true, true);
    if (!http) return undefined;
    try {
      const res = await fetch(http, { headers: { Authorization: `Bearer ${this.client.getAccessToken()}` } });
      if (!res.ok) return undefined;
      const url = URL.createObjectURL(await res.blob());
      this.ready.set(key, url);
      this.onLoaded();
      return url;
    } catch {
      this.urls.delete(key); // try again on the next draw
      return undefined;
    }
  }

  /** Downloads `mxc` and hands it to the browser as a file named `name`. */
  async download(mxc: string | undefined, name: string): Promise<void> {
    const http = mxc?.startsWith('mxc://') ? this.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true) : null;
    if (!http) return;
    const res = await fetch(http, { headers: { Authorization: `Bearer ${this.client.getAccessToken()}` } });
    if (!res.ok) throw new Error(`Download failed (${res.status})`);
    const url = URL.createObjectURL(await res.blob());
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
