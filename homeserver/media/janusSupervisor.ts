/**
 * The one owner of the homeserver's connection to Janus. With JANUS_URL it connects to that
 * Janus; otherwise, when a `janus` binary is installed, it runs one of its own (configs from
 * `media/` written under the data dir, WebSocket API on loopback) the first time voice is
 * used, and restarts it whenever it dies. Either way a lost connection is re-established and
 * everyone who registered with `onReset` hears that every Janus handle is gone, so calls can
 * be rebuilt (rooms re-created, clients told to rejoin).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../logging.ts';
import { writeJanusConfig } from './janusConfig.ts';
import { JanusConnection, type JanusSession } from './janusConnection.ts';
import { freePort } from './freePort.ts';

/** How long Janus gets to open its WebSocket port after being started. */
const START_TIMEOUT_MS = 15_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** A Janus that stayed up this long is healthy again: the next restart is immediate. */
const STABLE_AFTER_MS = 30_000;
const STOP_GRACE_MS = 3_000;

export type JanusMode = 'external' | 'embedded' | 'unavailable';

export class JanusUnavailableError extends Error {}

export class JanusSupervisor {
  readonly mode: JanusMode;
  /** Why voice cannot work, when mode is unavailable. */
  readonly unavailableReason: string | undefined;
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly binary: string | undefined;
  /** Secrets of the embedded Janus (random per homeserver start). */
  private readonly apiSecret: string | undefined;
  readonly adminKey: string | undefined;

  private child: ChildProcess | undefined;
  private session: JanusSession | undefined;
  private connecting: Promise<JanusSession> | undefined;
  private configFolder: string | undefined;
  private ownsConfigFolder = false;
  private started = false;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private upSince = 0;
  private generation = 0;
  private readonly resetListeners: Array<(generation: number) => void> = [];
  private readonly recentLog: string[] = [];

  constructor(config: Config, logger: Logger) {
    this.config = config;
    this.logger = logger;
    if (config.janusUrl) {
      this.mode = 'external';
      this.apiSecret = config.janusApiSecret;
      this.adminKey = config.janusAdminKey;
      return;
    }
    this.binary = config.janusBinary === 'off' ? undefined : findExecutable(config.janusBinary);
    if (!this.binary) {
      this.mode = 'unavailable';
      this.unavailableReason = config.janusBinary === 'off'
        ? 'Voice is turned off on this server (WHISPER_JANUS_BINARY=off and no JANUS_URL).'
        : `Voice needs the Janus media server: "${config.janusBinary}" is not installed here and JANUS_URL is not set.`;
      return;
    }
    this.mode = 'embedded';
    this.apiSecret = randomBytes(24).toString('base64url');
    this.adminKey = randomBytes(24).toString('base64url');
  }

  /** Counts Janus (re)connections; handles made under an older generation are gone. */
  get currentGeneration(): number {
    return this.generation;
  }

  /** The embedded Janus's process id (for the restart test and diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Called with the new generation whenever the connection to Janus was lost. */
  onReset(listener: (generation: number) => void): void {
    this.resetListeners.push(listener);
  }

  /** The live Janus session, starting or reconnecting Janus if needed. */
  async ready(): Promise<JanusSession> {
    if (this.mode === 'unavailable') throw new JanusUnavailableError(this.unavailableReason);
    if (this.closed) throw new JanusUnavailableError('The server is shutting down.');
    if (this.session?.connection.isOpen) return this.session;
    this.started = true;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.session?.connection.close();
    this.session = undefined;
    await this.stopChild();
    if (this.ownsConfigFolder && this.configFolder) await rm(this.configFolder, { recursive: true, force: true });
  }

  private async connect(): Promise<JanusSession> {
    let url = this.config.janusUrl;
    if (this.mode === 'embedded') url = await this.startChild();
    const deadline = Date.now() + START_TIMEOUT_MS;
    let lastError: Error | undefined;
    while (Date.now() < deadline && !this.closed) {
      try {
        const connection = await JanusConnection.open(url!, this.apiSecret);
        const session = await connection.createSession();
        connection.onClose((reason) => this.lost(session, reason));
        this.session = session;
        this.upSince = Date.now();
        this.logger.info({ janus: this.mode, url: this.mode === 'external' ? url : undefined, pid: this.pid }, 'connected to Janus');
        return session;
      } catch (err) {
        lastError = err as Error;
        if (this.mode === 'embedded' && !this.child) break;
        await sleep(100);
      }
    }
    const detail = this.mode === 'embedded' ? ` (Janus said: ${this.recentLog.slice(-5).join(' | ')})` : '';
    this.logger.warn({ err: lastError }, `cannot reach Janus${detail}`);
    await this.stopChild();
    this.scheduleRetry();
    throw new JanusUnavailableError(`The media server is not reachable: ${lastError?.message ?? 'timed out'}`);
  }

  /** The connection dropped (Janus died or restarted): drop it, tell listeners, come back. */
  private lost(session: JanusSession, reason: string): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.generation++;
    this.logger.warn({ reason }, 'lost the connection to Janus; restarting it');
    for (const listener of this.resetListeners) listener(this.generation);
    if (this.closed) return;
    if (Date.now() - this.upSince > STABLE_AFTER_MS) this.retryMs = RETRY_MIN_MS;
    void this.stopChild().then(() => this.scheduleRetry(0));
  }

  private scheduleRetry(delayMs = this.retryMs): void {
    if (this.closed || !this.started || this.retryTimer) return;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.ready().catch(() => {});
    }, delayMs);
    this.retryTimer.unref();
  }

  /** Writes the configs and starts Janus; returns the WebSocket URL it will listen on. */
  private async startChild(): Promise<string> {
    if (!this.configFolder) {
      if (this.config.dataDir === ':memory:') {
        this.configFolder = await mkdtemp(path.join(os.tmpdir(), 'whisper-janus-'));
        this.ownsConfigFolder = true;
      } else {
        this.configFolder = path.join(this.config.dataDir, 'janus');
      }
    }
    const wsPort = this.config.janusWsPort || (await freePort());
    const configFile = await writeJanusConfig(this.configFolder, {
      wsIp: '127.0.0.1',
      wsPort,
      apiSecret: this.apiSecret!,
      adminKey: this.adminKey!,
      rtpPortRange: this.config.janusRtpPorts,
      publicIp: this.config.janusPublicIp,
      iceInterfaces: this.config.janusIceInterfaces,
      debugLevel: this.config.janusDebugLevel,
    });
    const child = spawn(this.binary!, ['-C', configFile, '-F', this.configFolder], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const remember = (chunk: Buffer) => {
      for (const line of String(chunk).split('\n')) {
        if (!line.trim()) continue;
        this.recentLog.push(line.trim());
        if (this.recentLog.length > 50) this.recentLog.shift();
        if (/\[(ERR|FATAL)\]/.test(line)) this.logger.warn({ janus: line.trim() }, 'Janus error');
      }
    };
    child.stdout!.on('data', remember);
    child.stderr!.on('data', remember);
    child.once('error', (err) => this.logger.warn({ err }, 'cannot start Janus'));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closed) return;
      this.logger.warn({ code, signal }, 'Janus exited');
      // The WebSocket close usually tells us first; this covers a Janus that died before connecting.
      if (this.session?.connection.isOpen) this.session.connection.close();
    });
    return `ws://127.0.0.1:${wsPort}`;
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** A name on the PATH or a path, if it is an executable file. */
function findExecutable(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
