/**
 * Wires the server together: database → services → HTTP. The only module that knows every
 * layer. `startHomeserver` is what `npm start`, the tests and the benchmarks call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { publicUrlFor, type Config } from './config.ts';
import { createApp } from './http/app.ts';
import type { Logger } from './logging.ts';
import { AccountService } from './services/accounts.ts';
import type { Services } from './services/index.ts';
import { LoginService } from './services/login.ts';
import { PasswordHasher } from './services/passwords.ts';
import { ProfileService } from './services/profiles.ts';
import { RateLimits } from './services/rateLimits.ts';
import { RegistrationTokenService } from './services/registrationTokens.ts';
import { SessionService } from './services/sessions.ts';
import { UiaService } from './services/uia.ts';
import { UserIds } from './services/userIds.ts';
import { openDatabase, type Database } from './storage/database.ts';

const HOUSEKEEPING_INTERVAL_MS = 10 * 60 * 1000;
/** How long shutdown waits for in-flight requests before cutting connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function buildServices(config: Config, database: Database): Promise<Services> {
  const db = database.db;
  const userIds = new UserIds(config.serverName);
  const passwords = new PasswordHasher();
  const rateLimits = RateLimits.create(config.rateLimits, database.kind === 'postgres' ? db : undefined);
  const sessions = new SessionService(db, config);
  const uia = new UiaService({ db, config, passwords, rateLimits, userIds });
  return {
    config,
    userIds,
    rateLimits,
    sessions,
    uia,
    login: new LoginService({ db, passwords, rateLimits, sessions, userIds }),
    accounts: new AccountService({ db, config, passwords, sessions, uia, userIds }),
    profiles: new ProfileService(db),
    registrationTokens: new RegistrationTokenService(db, config),
  };
}

export interface RunningHomeserver {
  url: string;
  config: Config;
  services: Services;
  database: Database;
  /** Stops accepting, lets in-flight requests finish, closes the database. Idempotent. */
  close(): Promise<void>;
}

export async function startHomeserver(initial: Config, logger: Logger): Promise<RunningHomeserver> {
  const database = await openDatabase({ databaseUrl: initial.databaseUrl, dataDir: initial.dataDir });
  let server: http.Server | undefined;
  try {
    // Listen before building the app so a port-0 server knows its public URL.
    let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
    server = http.createServer((req, res) => handler(req, res));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(initial.port, initial.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const config: Config = { ...initial, port, publicUrl: publicUrlFor(initial, port) };
    const services = await buildServices(config, database);
    handler = createApp(services, logger).callback();

    const housekeeping = setInterval(() => {
      Promise.all([services.uia.deleteExpired(), services.rateLimits.clearExpired()]).catch((err) =>
        logger.warn({ err }, 'housekeeping failed'),
      );
    }, HOUSEKEEPING_INTERVAL_MS);
    housekeeping.unref();

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        clearInterval(housekeeping);
        await shutdownHttp(server!);
        await database.close();
      })();
      return closing;
    };
    const url = `http://${initial.host.includes(':') ? `[${initial.host}]` : initial.host}:${port}`;
    return { url, config, services, database, close };
  } catch (err) {
    if (server?.listening) server.close();
    await database.close();
    throw err;
  }
}

async function shutdownHttp(server: http.Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  // Connections that finish their last request become idle; close them as they do.
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  await closed;
  clearTimeout(force);
  clearInterval(idle);
}
