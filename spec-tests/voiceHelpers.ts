/** Test helpers for voice: a signaling client over the real WebSocket, and whether Janus is here. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import type { Config } from '../homeserver/config.ts';
import { writeJanusConfig } from '../homeserver/media/janusConfig.ts';
import { JanusConnection } from '../homeserver/media/janusConnection.ts';
import { createLogger } from '../homeserver/logging.ts';
import { startHomeserver } from '../homeserver/main.ts';
import { TestServer } from './harness.ts';
import { freePort } from '../homeserver/media/freePort.ts';

export function installed(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).concat(['/usr/sbin', '/sbin'])) {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

export type Signal = Record<string, any>;

/** One signaling connection: requests with ids, and the events the server pushes. */
export class SignalClient {
  readonly ws: WebSocket;
  readonly events: Signal[] = [];
  private nextId = 1;
  private readonly waiting = new Map<string, (m: Signal) => void>();
  private readonly eventWaiters: Array<{ match: (m: Signal) => boolean; resolve: (m: Signal) => void }> = [];
  closeCode: number | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Signal;
      if (m.id !== undefined && this.waiting.has(String(m.id))) {
        this.waiting.get(String(m.id))!(m);
        this.waiting.delete(String(m.id));
        return;
      }
      this.events.push(m);
      for (const w of [...this.eventWaiters]) {
        if (w.match(m)) {
          this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  /** Connects (token in the query, or sent as the first message) and waits for `ready` or the refusal. */
  static async connect(baseUrl: string, token: string | undefined, how: 'query' | 'message' = 'query'): Promise<{ client: SignalClient; first: Signal }> {
    const url = baseUrl.replace(/^http/, 'ws') + '/_whisper/client/v1/voice/ws' + (how === 'query' && token ? `?access_token=${encodeURIComponent(token)}` : '');
    const ws = new WebSocket(url);
    const client = new SignalClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const first = client.nextEvent(() => true);
    if (how === 'message') ws.send(JSON.stringify({ type: 'auth', access_token: token }));
    return { client, first: await first };
  }

  request(body: Signal, timeoutMs = 15_000): Promise<Signal> {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(body).slice(0, 80)}`)), timeoutMs);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.ws.send(JSON.stringify({ ...body, id }));
    });
  }

  nextEvent(match: (m: Signal) => boolean, timeoutMs = 15_000): Promise<Signal> {
    const seen = this.events.find(match);
    if (seen) {
      this.events.splice(this.events.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('event did not come')), timeoutMs);
      this.eventWaiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          this.events.splice(this.events.indexOf(m), 1);
          resolve(m);
        },
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * A minimal but valid sendonly Opus offer, so signaling can be tested without a browser
 * (Janus answers it; no media ever flows).
 */
export function fakeAudioOffer(): { type: 'offer'; sdp: string } {
  const fingerprint = Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) % 256).toString(16).padStart(2, '0').toUpperCase()).join(':');
  const sdp = [
    'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=msid-semantic: WMS s',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:Wh1s', 'a=ice-pwd:whisperwhisperwhisperwh', 'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprint}`, 'a=setup:actpass', 'a=mid:0', 'a=sendonly', 'a=msid:s a', 'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1', 'a=ssrc:11111111 cname:whisper', '',
  ].join('\r\n');
  return { type: 'offer', sdp };
}

/** A test server on a given config (e.g. a database another server also uses); closing it drops nothing. */
export async function startTestServerOn(config: Config): Promise<TestServer> {
  return new TestServer(await startHomeserver(config, createLogger('silent')), [], async () => {});
}

/**
 * A Janus of the test's own (the homeserver's config templates, API on loopback), as an
 * operator runs one for several server processes to share through JANUS_URL. `restart()`
 * kills it and starts a fresh one on the same port: it has lost every room.
 */
export interface SharedJanus {
  url: string;
  apiSecret: string;
  adminKey: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSharedJanus(binary: string): Promise<SharedJanus> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'whisper-shared-janus-'));
  const port = await freePort();
  const apiSecret = randomBytes(18).toString('base64url');
  const adminKey = randomBytes(18).toString('base64url');
  const configFile = await writeJanusConfig(folder, { wsIp: '127.0.0.1', wsPort: port, apiSecret, adminKey, rtpPortRange: '41000-41999', debugLevel: 2 });
  const url = `ws://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(binary, ['-C', configFile, '-F', folder], { stdio: 'ignore' });
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      try {
        (await JanusConnection.open(url, apiSecret)).close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('the test\'s Janus did not open its port');
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url, apiSecret, adminKey,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

