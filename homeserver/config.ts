/**
 * One typed configuration object, read from the environment and an optional YAML/JSON file
 * (`WHISPER_CONFIG`), validated once at start. Environment variables win over the file so a
 * container can override a mounted file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const rateLimit = z.object({
  points: z.number().int().positive(),
  durationSec: z.number().int().positive(),
});

const rateLimitsSchema = z
  .object({
    loginPerIp: rateLimit.default({ points: 20, durationSec: 60 }),
    loginPerAccount: rateLimit.default({ points: 10, durationSec: 60 }),
    // Each registration is 2-3 requests (the UIA steps); friends may share one IP.
    registerPerIp: rateLimit.default({ points: 30, durationSec: 3600 }),
    // Username availability and token checks: clients ask as the user types.
    lookupPerIp: rateLimit.default({ points: 120, durationSec: 60 }),
    refreshPerIp: rateLimit.default({ points: 60, durationSec: 60 }),
    passwordPerAccount: rateLimit.default({ points: 5, durationSec: 300 }),
    // Two-factor codes: 10 a quarter hour cannot guess a 6-digit code (10^6) in any useful time.
    codePerAccount: rateLimit.default({ points: 10, durationSec: 900 }),
    // Verification and reset mails: enough for typos and retries, not for flooding a mailbox.
    mailPerIp: rateLimit.default({ points: 10, durationSec: 3600 }),
    mailPerAddress: rateLimit.default({ points: 5, durationSec: 3600 }),
  })
  .prefault({});

/** A switch, from the environment ("true"/"1") or a config file (a boolean); off unless set. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1')
  .default(false);

/** A list, from the environment (comma-separated) or a config file (an array). */
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((u) => u.trim()).filter(Boolean));

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8008),
  host: z.string().min(1).default('127.0.0.1'),
  dataDir: z.string().min(1).default('./data'),
  serverName: z
    .string()
    .regex(/^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, 'must be a hostname with an optional :port')
    .default('localhost'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** invite: first account free (becomes admin), then registration tokens; open; closed. */
  registration: z.enum(['invite', 'open', 'closed']).default('invite'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  maxBodyBytes: z.coerce.number().int().positive().default(1024 * 1024),
  /** Lifetime of access tokens issued with a refresh token (clients that asked for one). */
  accessTokenLifetimeMs: z.coerce.number().int().positive().default(10 * 60 * 1000),
  /** Honour X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy: flag,
  passwordMinLength: z.coerce.number().int().min(1).max(128).default(8),
  /** How long an unfinished user-interactive auth session stays usable. */
  uiaSessionTtlMs: z.coerce.number().int().positive().default(15 * 60 * 1000),
  /** Presence: offline this long after a user's last sync; unavailable after this long idle. */
  presenceOfflineAfterMs: z.coerce.number().int().min(1000).default(30_000),
  presenceIdleAfterMs: z.coerce.number().int().min(1000).default(5 * 60 * 1000),
  /** An online user's activity is recorded (and announced) at most this often. */
  presenceActiveGranularityMs: z.coerce.number().int().min(100).default(60_000),
  /** TURN servers handed to clients (coturn with use-auth-secret), comma-separated URIs. */
  turnUris: list
    .pipe(z.array(z.string().regex(/^turns?:[^\s]+$/, 'TURN URIs look like turn:host:3478?transport=udp')))
    .default([]),
  /** coturn's static-auth-secret: credentials are HMAC-SHA1 of "expiry:user" with it. */
  turnSecret: z.string().min(16, 'use a long random secret').optional(),
  turnTtlSec: z.coerce.number().int().min(60).max(7 * 86400).default(86400),
  /** Media repository: the largest upload, where files live (default <dataDir>/media), and
   * whether the deprecated unauthenticated /_matrix/media/v3/download and /thumbnail answer. */
  maxUploadBytes: z.coerce.number().int().positive().default(100 * 1024 * 1024),
  mediaPath: z.string().min(1).optional(),
  legacyUnauthenticatedMedia: flag,
  /** URL previews (`/preview_url`): off by default, since the server then fetches pages for
   * clients. Private and reserved addresses are refused, except ones listed here (IPs or CIDRs). */
  urlPreviews: flag,
  urlPreviewAllowedIps: list
    .pipe(z.array(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'an IP address or CIDR such as 192.168.1.0/24')))
    .default([]),
  /** Outgoing mail (verification and password reset): an SMTP URL such as
   * smtps://user:pass@mail.example.org:465, and the From address. */
  smtpUrl: z.string().regex(/^smtps?:\/\/\S+$/, 'an SMTP URL such as smtp://user:pass@mail.example.org:587').optional(),
  mailFrom: z.string().min(3).optional(),
  /** The server key that encrypts secrets kept at rest (TOTP secrets): 32 random bytes as 64
   * hex digits or base64. Unset, one is made and kept in <dataDir>/secret.key; several server
   * processes on one PostgreSQL must all be given the same one. */
  secretKey: z
    .string()
    .regex(/^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/, 'must be 32 random bytes as 64 hex digits or base64 (openssl rand -hex 32)')
    .optional(),
  /** Audit log entries older than this many days are deleted (0 keeps them forever). */
  auditRetentionDays: z.coerce.number().int().min(0).max(36500).default(365),
  /** Scales every in-memory cache (sessions, room state, push rules): 2 doubles them, 0 turns
   * them off (memory-starved hosts, and the benchmarks' baseline). */
  cacheFactor: z.coerce.number().min(0).max(100).default(1),
  rateLimits: rateLimitsSchema,
  /** Voice and streaming (Janus). An external Janus (JANUS_URL, ws:// or wss://) with its
   * api_secret and VideoRoom admin_key; otherwise the homeserver runs `janusBinary` itself
   * ("off" disables it) with its WebSocket API on loopback at `janusWsPort` (0: a free port). */
  janusUrl: z.url({ protocol: /^wss?$/ }).optional(),
  janusApiSecret: z.string().min(1).optional(),
  janusAdminKey: z.string().min(1).optional(),
  janusBinary: z.string().min(1).default('janus'),
  janusWsPort: z.coerce.number().int().min(0).max(65535).default(0),
  /** Janus's media (RTP/ICE) UDP ports, its public address behind a 1:1 NAT, and the
   * interfaces (or address prefixes) it gathers ICE candidates on. */
  janusRtpPorts: z.string().regex(/^\d{1,5}-\d{1,5}$/, 'a port range like 20000-40000').default('20000-40000'),
  janusPublicIp: z.string().min(1).optional(),
  janusIceInterfaces: z.string().min(1).optional(),
  janusDebugLevel: z.coerce.number().int().min(0).max(7).default(3),
  /** Each server process renews a lease on the calls it serves this often (a third of it);
   * another process ends the calls of a process whose lease ran out (it crashed). */
  voiceLeaseMs: z.coerce.number().int().min(1000).max(600_000).default(30_000),
});

export type Config = z.infer<typeof schema> & { publicUrl: string };
export type ConfigInput = z.input<typeof schema>;

/** Environment variable → config key. The compose file and the README name these. */
export const ENV_VARS: Record<string, keyof ConfigInput> = {
  WHISPER_PORT: 'port',
  WHISPER_HOST: 'host',
  WHISPER_DATA_DIR: 'dataDir',
  WHISPER_SERVER_NAME: 'serverName',
  DATABASE_URL: 'databaseUrl',
  WHISPER_PUBLIC_URL: 'publicUrl',
  WHISPER_REGISTRATION: 'registration',
  WHISPER_LOG_LEVEL: 'logLevel',
  WHISPER_MAX_BODY_BYTES: 'maxBodyBytes',
  WHISPER_ACCESS_TOKEN_LIFETIME_MS: 'accessTokenLifetimeMs',
  WHISPER_TRUST_PROXY: 'trustProxy',
  WHISPER_PASSWORD_MIN_LENGTH: 'passwordMinLength',
  WHISPER_PRESENCE_OFFLINE_AFTER_MS: 'presenceOfflineAfterMs',
  WHISPER_PRESENCE_IDLE_AFTER_MS: 'presenceIdleAfterMs',
  WHISPER_PRESENCE_ACTIVE_GRANULARITY_MS: 'presenceActiveGranularityMs',
  WHISPER_TURN_URIS: 'turnUris',
  WHISPER_TURN_SECRET: 'turnSecret',
  WHISPER_TURN_TTL_SEC: 'turnTtlSec',
  WHISPER_MAX_UPLOAD_BYTES: 'maxUploadBytes',
  WHISPER_MEDIA_PATH: 'mediaPath',
  WHISPER_LEGACY_MEDIA: 'legacyUnauthenticatedMedia',
  WHISPER_URL_PREVIEWS: 'urlPreviews',
  WHISPER_SMTP_URL: 'smtpUrl',
  WHISPER_MAIL_FROM: 'mailFrom',
  WHISPER_AUDIT_RETENTION_DAYS: 'auditRetentionDays',
  WHISPER_CACHE_FACTOR: 'cacheFactor',
  WHISPER_SECRET_KEY: 'secretKey',
  WHISPER_URL_PREVIEW_ALLOWED_IPS: 'urlPreviewAllowedIps',
  JANUS_URL: 'janusUrl',
  JANUS_API_SECRET: 'janusApiSecret',
  WHISPER_JANUS_ADMIN_KEY: 'janusAdminKey',
  WHISPER_JANUS_BINARY: 'janusBinary',
  WHISPER_JANUS_WS_PORT: 'janusWsPort',
  WHISPER_JANUS_RTP_PORTS: 'janusRtpPorts',
  WHISPER_JANUS_PUBLIC_IP: 'janusPublicIp',
  WHISPER_JANUS_ICE_INTERFACES: 'janusIceInterfaces',
  WHISPER_JANUS_DEBUG_LEVEL: 'janusDebugLevel',
  WHISPER_VOICE_LEASE_MS: 'voiceLeaseMs',
};

/** The same limit for every kind (tests and benchmarks lift them all at once). */
export function uniformRateLimits(limit: { points: number; durationSec: number }): Record<keyof Config['rateLimits'], typeof limit> {
  return Object.fromEntries(Object.keys(rateLimitsSchema.unwrap().shape).map((k) => [k, limit])) as Record<keyof Config['rateLimits'], typeof limit>;
}

/** Variables read besides ENV_VARS. */
export const CONFIG_FILE_VAR = 'WHISPER_CONFIG';

export class ConfigError extends Error {}

function snakeToCamel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function readFile(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  if (raw == null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`config file ${file} must hold a mapping of settings`);
  }
  return camelKeys(raw) as Record<string, unknown>;
}

/** The file may use snake_case (server_name, rate_limits.login_per_ip) or camelCase. */
function camelKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeToCamel(k), camelKeys(v)]));
}

/** Validates a config from explicit values (tests, CLI) with defaults filled in. */
export function buildConfig(input: ConfigInput): Config {
  const result = schema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const envName = Object.entries(ENV_VARS).find(([, k]) => k === issue.path[0])?.[0];
      return `  ${key}${envName ? ` (${envName})` : ''}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const cfg = result.data;
  return { ...cfg, dataDir: cfg.dataDir === ':memory:' ? cfg.dataDir : path.resolve(cfg.dataDir), publicUrl: cfg.port === 0 && !cfg.publicUrl ? '' : publicUrlFor(cfg, cfg.port) };
}

/**
 * The URL clients are told to use. Without WHISPER_PUBLIC_URL it is where we listen; with
 * port 0 (tests) it is only known once listening, so main.ts calls this again then.
 */
export function publicUrlFor(cfg: { host: string; publicUrl?: string }, port: number): string {
  if (cfg.publicUrl) return cfg.publicUrl.replace(/\/+$/, '');
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
  return `http://${host}:${port}`;
}

/** Reads the file named by WHISPER_CONFIG (if any), then the environment on top. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromFile = env[CONFIG_FILE_VAR] ? readFile(env[CONFIG_FILE_VAR]!) : {};
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_VARS)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  return buildConfig({ ...fromFile, ...fromEnv } as ConfigInput);
}
