/**
 * A small JSON-over-HTTP client for the load generator, on undici's connection pool: by
 * default without a connection cap, so each of the 1,000 long-polls gets a connection; with
 * a cap, requests beyond it wait in the pool's queue, in order.
 *
 * Why undici and not node:http: the load generator measures delivery times on its own event
 * loop, so its garbage-collection pauses land in the figures, and a long-poll's client-side
 * objects outlive a young-generation cycle and get promoted. In one 60 s run each, the load
 * generator's GC time was 1.5 s with node:http and 1.1 s with this client; its scavenges
 * still pause it 15-30 ms on this 2-core box (--trace-gc-nvp: 13-16 MB promoted each).
 */
import { errors, Pool } from 'undici';

export interface JsonResponse {
  status: number;
  body: any;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Fails the request if no answer has come by then. */
  timeoutMs?: number;
}

export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(method: string, path: string, status: number, body: unknown) {
    super(`${method} ${path.split('?')[0]}: ${status} ${JSON.stringify(body)?.slice(0, 300)}`);
    this.status = status;
    this.body = body;
  }
}

export class JsonClient {
  readonly base: URL;
  private readonly pool: Pool;

  constructor(baseUrl: string, maxConnections?: number) {
    this.base = new URL(baseUrl);
    // No pipelining: a long-poll holds its connection. Timeouts are per request (below).
    this.pool = new Pool(this.base.origin, { connections: maxConnections ?? null, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
  }

  /**
   * Resolves with any status; rejects on a network error, a timeout or an abort. Timeouts are
   * undici's own timers, not AbortSignal.timeout: a signal per request (with AbortSignal.any
   * to join the caller's) left about 7 KB of listeners and weak references per long-poll.
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<JsonResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const timeout = opts.timeoutMs ?? 0;
    try {
      const res = await this.pool.request({ method: method as 'GET', path, headers, body: payload, signal: opts.signal, headersTimeout: timeout, bodyTimeout: timeout });
      const text = await res.body.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      return { status: res.statusCode, body };
    } catch (err) {
      if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
        throw new Error(`${method} ${path.split('?')[0]}: no answer within ${opts.timeoutMs} ms`);
      }
      throw err;
    }
  }

  /** As request, but throws unless the status is 200. */
  async ok(method: string, path: string, opts: RequestOptions = {}): Promise<any> {
    const res = await this.request(method, path, opts);
    if (res.status !== 200) throw new HttpError(method, path, res.status, res.body);
    return res.body;
  }

  /** Closes every connection; requests in flight fail. */
  async close(): Promise<void> {
    if (!this.pool.destroyed) await this.pool.destroy().catch(() => {});
  }
}

/** Runs `fn` over items with at most `limit` in flight, calling `progress` as they finish. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>, progress?: (done: number) => void): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
      done++;
      progress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
