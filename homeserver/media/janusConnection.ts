/**
 * The Janus API over its WebSocket transport (subprotocol `janus-protocol`): transactions,
 * one session with keepalives, plugin handles and the events Janus pushes to them. Only the
 * homeserver speaks this API; clients never see it.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export interface Jsep {
  type: 'offer' | 'answer';
  sdp: string;
}

/** A message Janus sends: answers (success, error, ack) and pushed events. */
export interface JanusMessage {
  janus: string;
  transaction?: string;
  session_id?: number;
  sender?: number;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: Jsep;
  [key: string]: unknown;
}

/** Janus refused a request (its core error, or the plugin's error_code). */
export class JanusError extends Error {
  readonly code: number;
  constructor(code: number, reason: string) {
    super(reason);
    this.name = 'JanusError';
    this.code = code;
  }
}

/** Janus's own answer time; a request unanswered this long is treated as lost. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Janus drops a session after session_timeout (60 s) without traffic. */
const KEEPALIVE_MS = 20_000;

interface Pending {
  resolve: (m: JanusMessage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** Plugin messages are acked first; their answer is the event with the same transaction. */
  waitForEvent: boolean;
}

export type HandleListener = (event: JanusMessage) => void;

export class JanusConnection {
  private readonly ws: WebSocket;
  private readonly apiSecret: string | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly handles = new Map<number, HandleListener>();
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private closedReason: string | undefined;

  private constructor(ws: WebSocket, apiSecret: string | undefined) {
    this.ws = ws;
    this.apiSecret = apiSecret;
    ws.on('message', (data) => this.receive(String(data)));
    ws.on('close', (code) => this.closed(`Janus connection closed (${code})`));
    ws.on('error', (err) => this.closed(`Janus connection failed: ${err.message}`));
  }

  /** Connects, or rejects when nothing answers at `url` within the timeout. */
  static open(url: string, apiSecret: string | undefined, timeoutMs = 5000): Promise<JanusConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'janus-protocol', { handshakeTimeout: timeoutMs });
      const fail = (err: Error) => {
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(err);
      };
      ws.once('open', () => {
        ws.removeAllListeners();
        resolve(new JanusConnection(ws, apiSecret));
      });
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`Janus answered HTTP ${res.statusCode}`)));
    });
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== undefined) listener(this.closedReason);
    else this.closeListeners.push(listener);
  }

  close(): void {
    this.ws.close();
    this.closed('closed by the homeserver');
  }

  /** Janus's server info (also a cheap check that the API secret is right). */
  async info(): Promise<JanusMessage> {
    return this.send({ janus: 'info' });
  }

  async createSession(): Promise<JanusSession> {
    const answer = await this.send({ janus: 'create' });
    return new JanusSession(this, answer.data!.id!);
  }

  /** Sends a request and resolves with its answer (for plugin messages, the plugin's event). */
  send(body: Record<string, unknown>, opts: { waitForEvent?: boolean } = {}): Promise<JanusMessage> {
    if (this.closedReason !== undefined) return Promise.reject(new JanusError(0, this.closedReason));
    const transaction = randomBytes(9).toString('base64url');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new JanusError(0, `Janus did not answer ${String(body.janus)} in time`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(transaction, { resolve, reject, timer, waitForEvent: opts.waitForEvent ?? false });
      const message = { ...body, transaction, ...(this.apiSecret ? { apisecret: this.apiSecret } : {}) };
      this.ws.send(JSON.stringify(message), (err) => {
        if (err) this.settle(transaction, undefined, new JanusError(0, err.message));
      });
    });
  }

  listen(handleId: number, listener: HandleListener): void {
    this.handles.set(handleId, listener);
  }

  unlisten(handleId: number): void {
    this.handles.delete(handleId);
  }

  private receive(text: string): void {
    let message: JanusMessage;
    try {
      message = JSON.parse(text) as JanusMessage;
    } catch {
      return;
    }
    const pending = message.transaction ? this.pending.get(message.transaction) : undefined;
    if (pending) {
      if (message.janus === 'ack' && pending.waitForEvent) return;
      if (message.janus === 'error') {
        this.settle(message.transaction!, undefined, new JanusError(message.error?.code ?? 0, message.error?.reason ?? 'Janus error'));
        return;
      }
      const pluginError = message.plugindata?.data;
      if (pluginError && typeof pluginError.error_code === 'number') {
        this.settle(message.transaction!, undefined, new JanusError(pluginError.error_code, String(pluginError.error ?? 'plugin error')));
        return;
      }
      this.settle(message.transaction!, message);
      return;
    }
    if (message.sender !== undefined) this.handles.get(message.sender)?.(message);
  }

  private settle(transaction: string, message: JanusMessage | undefined, err?: Error): void {
    const pending = this.pending.get(transaction);
    if (!pending) return;
    this.pending.delete(transaction);
    clearTimeout(pending.timer);
    if (err) pending.reject(err);
    else pending.resolve(message!);
  }

  private closed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const [transaction] of this.pending) this.settle(transaction, undefined, new JanusError(0, reason));
    for (const listener of this.handles.values()) listener({ janus: 'detached' });
    this.handles.clear();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}

/** A Janus session: the parent of plugin handles, kept alive while the connection lasts. */
export class JanusSession {
  readonly connection: JanusConnection;
  readonly id: number;
  private readonly keepalive: NodeJS.Timeout;

  constructor(connection: JanusConnection, id: number) {
    this.connection = connection;
    this.id = id;
    this.keepalive = setInterval(() => {
      this.connection.send({ janus: 'keepalive', session_id: id }).catch(() => {});
    }, KEEPALIVE_MS);
    this.keepalive.unref();
    connection.onClose(() => clearInterval(this.keepalive));
  }

  async attach(plugin: string, listener: HandleListener = () => {}): Promise<JanusHandle> {
    const answer = await this.connection.send({ janus: 'attach', plugin, session_id: this.id });
    const handle = new JanusHandle(this, answer.data!.id!);
    this.connection.listen(handle.id, listener);
    return handle;
  }

  async destroy(): Promise<void> {
    clearInterval(this.keepalive);
    await this.connection.send({ janus: 'destroy', session_id: this.id }).catch(() => {});
  }
}

/** One plugin handle: a PeerConnection on Janus's side (or none, for control requests). */
export class JanusHandle {
  readonly session: JanusSession;
  readonly id: number;
  private detached = false;

  constructor(session: JanusSession, id: number) {
    this.session = session;
    this.id = id;
  }

  /** A synchronous plugin request: resolves with the plugin's data. */
  async request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const answer = await this.session.connection.send({ janus: 'message', session_id: this.session.id, handle_id: this.id, body });
    return answer.plugindata?.data ?? {};
  }

  /** An asynchronous plugin request (join, configure, start …): resolves with its event. */
  async message(body: Record<string, unknown>, jsep?: Jsep): Promise<{ data: Record<string, unknown>; jsep?: Jsep }> {
    const answer = await this.session.connection.send(
      { janus: 'message', session_id: this.session.id, handle_id: this.id, body, ...(jsep ? { jsep } : {}) },
      { waitForEvent: true },
    );
    return { data: answer.plugindata?.data ?? {}, jsep: answer.jsep };
  }

  /** An ICE candidate from the client (null: it has gathered them all). */
  async trickle(candidate: Record<string, unknown> | null): Promise<void> {
    await this.session.connection.send({
      janus: 'trickle', session_id: this.session.id, handle_id: this.id, candidate: candidate ?? { completed: true },
    });
  }

  async detach(): Promise<void> {
    if (this.detached) return;
    this.detached = true;
    this.session.connection.unlisten(this.id);
    if (!this.session.connection.isOpen) return;
    await this.session.connection.send({ janus: 'detach', session_id: this.session.id, handle_id: this.id }).catch(() => {});
  }
}
