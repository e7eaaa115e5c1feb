/**
 * A small JSON-over-HTTP client for the load generator, on rawHttp.ts's lean keep-alive
 * connections (why not node:http: see there). By default without a connection cap, so each
 * of the 1,000 long-polls gets one; with a cap, requests beyond it wait here, in order, and
 * idle connections are reused newest first.
 */
import { RawConnection } from './rawHttp.ts';

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
  private readonly maxConnections: number;
  private readonly all = new Set<RawConnection>();
  private readonly idle: RawConnection[] = [];
  private readonly waiting: Array<(c: RawConnection) => void> = [];
  private closed = false;

  constructor(baseUrl: string, maxConnections = Infinity) {
    this.base = new URL(baseUrl);
    this.maxConnections = maxConnections;
  }

  /** Resolves with any status; rejects on a network error, a timeout or an abort. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<JsonResponse> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.base.host}\r\nAccept: application/json\r\n`;
    if (opts.token) head += `Authorization: Bearer ${opts.token}\r\n`;
    if (payload !== undefined) head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`;
    else if (method !== 'GET') head += 'Content-Length: 0\r\n';
    head += '\r\n';
    if (opts.signal?.aborted) throw new Error(`${method} ${path.split('?')[0]}: aborted`);
    const conn = await this.acquire();
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => conn.destroy(new Error(`${method} ${path.split('?')[0]}: aborted`));
    try {
      const answer = conn.request(head, payload);
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => conn.destroy(new Error(`${method} ${path.split('?')[0]}: no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const res = await answer;
      let body: unknown;
      try {
        body = res.text ? JSON.parse(res.text) : undefined;
      } catch {
        body = res.text;
      }
      return { status: res.status, body };
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      this.release(conn);
    }
  }

  /** As request, but throws unless the status is 200. */
  async ok(method: string, path: string, opts: RequestOptions = {}): Promise<any> {
    const res = await this.request(method, path, opts);
    if (res.status !== 200) throw new HttpError(method, path, res.status, res.body);
    return res.body;
  }

  /** Open connections (in use and idle), for the report. */
  sockets(): number {
    return this.all.size;
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.destroy(new Error('client closed'));
    this.all.clear();
    this.idle.length = 0;
  }

  private acquire(): Promise<RawConnection> {
    if (this.closed) return Promise.reject(new Error('client closed'));
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (!c.closed) return Promise.resolve(c);
      this.all.delete(c); // the server closed it while idle
    }
    if (this.all.size < this.maxConnections) return Promise.resolve(this.open());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(conn: RawConnection): void {
    if (conn.closed) {
      this.all.delete(conn);
      const next = this.waiting.shift();
      if (next && !this.closed) next(this.open());
      return;
    }
    const next = this.waiting.shift();
    if (next) next(conn);
    else this.idle.push(conn);
  }

  private open(): RawConnection {
    const conn = new RawConnection(this.base.hostname, Number(this.base.port));
    this.all.add(conn);
    return conn;
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
