/**
 * The voice signaling WebSocket, on the HTTP server's `upgrade` event at
 * /_whisper/client/v1/voice/ws. The access token comes as `?access_token=`, as an
 * Authorization header, or in the first message `{type: "auth", access_token}`; the socket
 * then says `{type: "ready", user_id, device_id}` and hands every frame to the API layer.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_SIGNAL_BYTES, VoiceSignaling } from '../api/voice.ts';
import { errors, MatrixError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { Services } from '../services/index.ts';
import type { Requester } from '../services/sessions.ts';
import type { VoicePeer } from '../services/voice/voiceService.ts';

export const VOICE_SOCKET_PATH = '/_whisper/client/v1/voice/ws';
/** A client that has not authenticated by then is cut off. */
const AUTH_TIMEOUT_MS = 10_000;
/** Pings find dead peers (a laptop closed mid-call) so their call ends. */
const PING_INTERVAL_MS = 20_000;
/** Close codes: 4001 bad or missing token, 4000 malformed first message. */
const CLOSE_AUTH = 4001;

export function attachVoiceSocket(server: http.Server, services: Services, logger: Logger): () => Promise<void> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_BYTES });
  const alive = new WeakSet<WebSocket>();

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== VOICE_SOCKET_PATH) {
      // Other upgrade listeners (if any) answer their own paths.
      if (server.listenerCount('upgrade') > 1) return;
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
      void accept(ws, req, url);
    });
  };

  const accept = async (ws: WebSocket, req: http.IncomingMessage, url: URL) => {
    const seen = { ip: req.socket.remoteAddress ?? '', userAgent: req.headers['user-agent'] ?? null };
    const header = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    let token = url.searchParams.get('access_token') || header;
    if (!token) {
      token = await firstMessageToken(ws);
      if (!token) return;
    }
    const bearer = token;
    let requester: Requester;
    try {
      requester = await services.sessions.authenticate(bearer, seen);
    } catch (err) {
      refuse(ws, err instanceof MatrixError ? err : errors.unknownToken(false));
      return;
    }
    const peer: VoicePeer = {
      userId: requester.userId,
      deviceId: requester.deviceId,
      send(event) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      },
    };
    const signaling = new VoiceSignaling(services, peer, () => services.sessions.authenticate(bearer, seen), logger);
    ws.on('message', (data, isBinary) => {
      if (isBinary) peer.send({ type: 'error', status: 400, ...errors.notJson('Send text frames.').toJSON() });
      else void signaling.receive(String(data));
    });
    ws.on('close', () => void signaling.closed().catch((err) => logger.warn({ err }, 'voice disconnect failed')));
    peer.send({ type: 'ready', user_id: requester.userId, device_id: requester.deviceId });
  };

  const ping = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, PING_INTERVAL_MS);
  ping.unref();

  server.on('upgrade', onUpgrade);
  return async () => {
    clearInterval(ping);
    server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    for (const ws of wss.clients) ws.terminate();
  };
}

/** Waits for `{type: "auth", access_token}`; refuses and returns undefined otherwise. */
function firstMessageToken(ws: WebSocket): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      refuse(ws, errors.missingToken());
      resolve(undefined);
    }, AUTH_TIMEOUT_MS);
    ws.once('message', (data) => {
      clearTimeout(timer);
      let token: unknown;
      try {
        const msg = JSON.parse(String(data)) as { type?: unknown; access_token?: unknown };
        if (msg.type === 'auth') token = msg.access_token;
      } catch {
        // not JSON: refused below
      }
      if (typeof token === 'string' && token !== '') resolve(token);
      else {
        refuse(ws, errors.missingToken());
        resolve(undefined);
      }
    });
    ws.once('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

function refuse(ws: WebSocket, err: MatrixError): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'error', status: err.status, ...err.toJSON() }));
  ws.close(CLOSE_AUTH, err.errcode);
}
