/**
 * A small JSON-over-HTTP client for the load generator: node:http with a keep-alive agent,
 * by default without a socket cap so each of the 1,000 long-polls gets a connection. (undici
 * is not a dependency here; node:http also costs the parent, which shares 2 cores with the
 * server, less CPU per request than fetch.) With a cap, requests beyond it wait in the
 * agent's queue, in order.
 */
import http from 'node:http';

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
  private readonly agent: http.Agent;

  constructor(baseUrl: string, maxSockets = Infinity) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets, maxFreeSockets: 4096, scheduling: 'lifo' });
  }

  /** Resolves with any status; rejects on a network error, a timeout or an abort. */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<JsonResponse> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    return new Promise<JsonResponse>((resolve, reject) => {
      const req = http.request(
        { host: this.base.hostname, port: this.base.port, path, method, headers, agent: this.agent, signal: opts.signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = text;
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('error', reject);
      if (opts.timeoutMs !== undefined) {
        req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`${method} ${path.split('?')[0]}: no answer within ${opts.timeoutMs} ms`)));
      }
      req.end(payload);
    });
  }

  /** As request, but throws unless the status is 200. */
  async ok(method: string, path: string, opts: RequestOptions = {}): Promise<any> {
    const res = await this.request(method, path, opts);
    if (res.status !== 200) throw new HttpError(method, path, res.status, res.body);
    return res.body;
  }

  close(): void {
    this.agent.destroy();
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
