/**
 * A lean HTTP/1.1 keep-alive client for the load generator's long-polls, on net sockets.
 *
 * Why not node:http (or undici): the load generator stamps arrival times on its own event
 * loop, so its garbage-collection pauses land in the delivery figures. With node:http each
 * request cycle allocated about 50 KB, and a long-poll's 13 KB of request objects lived past
 * a young-generation cycle, so all of it was copied and promoted: a 20-60 ms scavenge about
 * every 1.3 s, which by itself put the measured p99 near 50 ms (--trace-gc-nvp; one 60 s run
 * with undici instead changed neither). Here a request in flight holds a promise and a few
 * closures; the connection and its parser state live as long as the socket.
 *
 * It speaks only what the benchmark's servers answer: one request at a time per connection,
 * responses framed by Content-Length (Koa's JSON bodies). Anything else fails the request.
 */
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');

export interface RawResponse {
  status: number;
  /** The body, decoded as UTF-8. */
  text: string;
}

interface Pending {
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
}

/** One keep-alive connection; `request` must not be called again before the last one settled. */
export class RawConnection {
  readonly socket: net.Socket;
  private pending: Pending | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  /** Once the head is read: the status and where the body ends (bytes from the head's start). */
  private head: { status: number; bodyStart: number; total: number } | undefined;
  closed = false;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closed = true;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  request(head: string, body: string | undefined): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      this.pending = { resolve, reject };
      this.socket.write(body === undefined ? head : head + body);
    });
  }

  destroy(err: Error): void {
    this.socket.destroy(err);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (!this.head) {
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [all];
      const end = all.indexOf(HEAD_END);
      if (end < 0) return;
      const lines = all.toString('latin1', 0, end).split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const length = lines.find((l) => /^content-length:/i.test(l));
      if (!length) return this.destroy(new Error(`response without Content-Length: ${lines[0]}`));
      const bodyStart = end + HEAD_END.length;
      this.head = { status, bodyStart, total: bodyStart + Number(length.slice(15).trim()) };
    }
    if (this.received < this.head.total) return;
    if (this.received > this.head.total) return this.destroy(new Error('more bytes than the response framed'));
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const text = all.toString('utf8', this.head.bodyStart);
    const status = this.head.status;
    this.chunks = [];
    this.received = 0;
    this.head = undefined;
    const p = this.pending;
    this.pending = undefined;
    p?.resolve({ status, text });
  }
}
