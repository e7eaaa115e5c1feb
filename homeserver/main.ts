/**
 * Wires the server together: database → services → HTTP. The only module that knows every
 * layer. `startHomeserver` is what `npm start`, the tests and the benchmarks call.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { startControlSocket } from './admin/controlSocket.ts';
import { publicUrlFor, type Config } from './config.ts';
import { createApp } from './http/app.ts';
import { createLogger, type Logger } from './logging.ts';
import { AccountService } from './services/accounts.ts';
import type { Services } from './services/index.ts';
import { LoginService } from './services/login.ts';
import { PasswordHasher } from './services/passwords.ts';
import { ProfileService } from './services/profiles.ts';
import { RateLimits } from './services/rateLimits.ts';
import { RegistrationTokenService } from './services/registrationTokens.ts';
import { SessionService } from './services/sessions.ts';
import { CACHES_CHANNEL, CacheBus, InvalidatedCache } from './services/caches.ts';
import type { AccessTokenLookup } from './storage/tokens.ts';
import { HistoryService } from './services/rooms/history.ts';
import { EventPersister } from './services/rooms/persister.ts';
import { RoomStateCache } from './services/rooms/stateCache.ts';
import { DirectoryService } from './services/rooms/directory.ts';
import { HierarchyService } from './services/rooms/hierarchy.ts';
import { RelationService } from './services/rooms/relations.ts';
import { SearchService } from './services/rooms/search.ts';
import { ClientSupportService } from './services/clientSupport.ts';
import { RoomService } from './services/rooms/roomService.ts';
import { FilterService } from './services/sync/filters.ts';
import { CHANGES_CHANNEL, Notifier } from './services/sync/notifier.ts';
import { SyncService } from './services/sync/syncService.ts';
import { OwnRooms } from './services/sync/ownRooms.ts';
import { HeardEvents } from './services/sync/heardEvents.ts';
import { RecentEventRows } from './services/sync/recentRows.ts';
import { UnreadCountCache } from './services/push/unreadCache.ts';
import { PushService } from './services/push/pushService.ts';
import type { PushRulesJson } from './services/push/ruleset.ts';
import { AccountDataService } from './services/streams/accountData.ts';
import { ReceiptService } from './services/streams/receipts.ts';
import { TypingService } from './services/streams/typing.ts';
import { MEDIA_CHANNEL, MediaService } from './services/media/mediaService.ts';
import { UrlPreviewService } from './services/media/urlPreview.ts';
import { committedPositions } from './storage/streams.ts';
import { DeviceListService } from './services/e2ee/deviceLists.ts';
import { KeyBackupService } from './services/e2ee/keyBackup.ts';
import { KeyService, type SyncKeyCounts } from './services/e2ee/keys.ts';
import { ToDeviceService } from './services/e2ee/toDevice.ts';
import { PresenceService } from './services/presence.ts';
import { UserDirectoryService } from './services/userDirectory.ts';
import { UiaService } from './services/uia.ts';
import { UserIds } from './services/userIds.ts';
import { AuditService } from './services/audit.ts';
import { TwoFactorService } from './services/twoFactor.ts';
import { SecretBox } from './services/secretBox.ts';
import { loadServerKey } from './services/serverKey.ts';
import { Mailer } from './services/mailer.ts';
import { EmailService } from './services/email.ts';
import { openDatabase, type Database } from './storage/database.ts';
import { BlockService, IGNORED_USERS } from './services/friends/blockService.ts';
import { FriendService } from './services/friends/friendService.ts';
import { FriendMembershipRules } from './services/friends/membershipRules.ts';
import { FriendSummary } from './services/friends/summary.ts';
import { BlockLists } from './services/friends/blockLists.ts';
import { JanusSupervisor } from './media/janusSupervisor.ts';
import { VoiceService } from './services/voice/voiceService.ts';
import { attachVoiceSocket } from './http/voiceSocket.ts';

/** Cache sizes (times `cacheFactor`): a friends' server has far fewer sessions, users and rooms. */
const TOKEN_CACHE_ENTRIES = 50_000;
const ROOM_STATE_CACHE_ROOMS = 2_000;
const PUSH_RULES_CACHE_USERS = 10_000;
const KEY_COUNT_CACHE_DEVICES = 20_000;
const OWN_ROOMS_CACHE_USERS = 10_000;
const BLOCK_LIST_CACHE_USERS = 10_000;
/** Notices of the newest events kept for sync (about a minute and a half at 200 messages/s). */
const HEARD_EVENTS_KEPT = 20_000;
/** Rows of the newest events kept for sync answers. */
const RECENT_ROWS_KEPT = 5_000;
/** Unread counts (per user and room) kept up to date in memory. */
const UNREAD_COUNT_ENTRIES = 50_000;
const HOUSEKEEPING_INTERVAL_MS = 10 * 60 * 1000;
/** How long shutdown waits for in-flight requests before cutting connections. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long shutdown keeps accepting, so connections already queued are taken in. */
const ACCEPT_DRAIN_MS = 100;
/** …but no longer than this, whatever keeps arriving. */
const ACCEPT_DRAIN_MAX_MS = 2000;

/** Builds the services and subscribes them to the database's change notifications. */
export async function buildServices(config: Config, database: Database, logger: Logger = createLogger('silent')): Promise<Services> {
  const db = database.db;
  // Hot-path caches, dropped in every process by the writes that change them (caches.ts).
  const caches = new CacheBus();
  await database.notifications.listen(CACHES_CHANNEL, caches.subscription());
  const tokenCache = caches.register(new InvalidatedCache<AccessTokenLookup>('tokens', Math.round(TOKEN_CACHE_ENTRIES * config.cacheFactor)));
  const userIds = new UserIds(config.serverName);
  const passwords = new PasswordHasher();
  const rateLimits = RateLimits.create(config.rateLimits, database.kind === 'postgres' ? db : undefined);
  const audit = new AuditService(db, config);
  const sessions = new SessionService(db, config, { bus: caches, tokens: tokenCache }, audit);
  const twoFactor = await TwoFactorService.open({ db, config, rateLimits, audit, box: new SecretBox(await loadServerKey(config)) });
  const mailer = new Mailer(config);
  const emails = new EmailService({ db, config, mailer, rateLimits, audit });
  const uia = new UiaService({ db, config, passwords, rateLimits, userIds, twoFactor, emails });
  const started = await committedPositions(db);
  const notifier = new Notifier(db, started);
  const heard = new HeardEvents(db, notifier, started.events ?? 0, Math.round(HEARD_EVENTS_KEPT * config.cacheFactor));
  const recentRows = new RecentEventRows(db, notifier, Math.round(RECENT_ROWS_KEPT * config.cacheFactor));
  const ownRooms = new OwnRooms(db, notifier, heard, Math.round(OWN_ROOMS_CACHE_USERS * config.cacheFactor));
  const unread = new UnreadCountCache(Math.round(UNREAD_COUNT_ENTRIES * config.cacheFactor));
  heard.onAdvance((n) => unread.advanced(n));
  /** Services built below that must hear of a gap in notifications too. */
  const gapListeners: Array<(listening: boolean) => void> = [];
  notifier.subscribe((n) => {
    if (n.stream === 'receipts' && n.roomId && n.userId) unread.receipt(n.roomId, n.userId);
  });
  await database.notifications.listen(CHANGES_CHANNEL, {
    onMessage: (payload) => {
      const notice = notifier.decode(payload);
      if (notice) void notifier.onChange(notice);
    },
    // Changes may have been missed while not listening: every long-poll re-checks.
    onGap: (listening) => {
      heard.listening(listening);
      recentRows.listening(listening);
      unread.listening(listening);
      ownRooms.listening(listening);
      for (const also of gapListeners) also(listening);
      if (listening) void committedPositions(db).then((p) => notifier.resync(p));
    },
  });
  // What another process committed between reading `started` and the LISTEN taking effect was
  // not heard: trust only from what is committed now.
  heard.listening(true);
  notifier.resync(await committedPositions(db));
  const accountData = new AccountDataService(db, notifier);
  const receipts = new ReceiptService({ db, notifier, accountData });
  const typing = new TypingService(db, notifier);
  const blockLists = new BlockLists(db, caches, Math.round(BLOCK_LIST_CACHE_USERS * config.cacheFactor));
  const push = new PushService({
    db, accountData, blocks: blockLists, heard,
    caches: { bus: caches, rules: caches.register(new InvalidatedCache<PushRulesJson>('push_rules', Math.round(PUSH_RULES_CACHE_USERS * config.cacheFactor))), unread },
  });
  const persister = new EventPersister(db, notifier, new RoomStateCache(Math.round(ROOM_STATE_CACHE_ROOMS * config.cacheFactor)), {
    oneConnection: database.kind === 'pglite',
  });
  persister.onWrite((row) => recentRows.writing(row));
  const rooms = new RoomService({ db, persister, userIds });
  const relations = new RelationService(db, rooms);
  const directory = new DirectoryService({ db, rooms, userIds });
  persister.check((trx, draft) => relations.validate(trx, draft));
  persister.check((trx, draft) => directory.validate(trx, draft));
  persister.onStored((trx, pdu, state) => push.evaluate(trx, pdu, state));
  const media = await MediaService.open(db, config);
  await database.notifications.listen(MEDIA_CHANNEL, media.subscription());
  const deviceLists = new DeviceListService(db, notifier);
  sessions.onDevicesChanged((trx, userId) => deviceLists.markChanged(userId, trx));
  const keys = new KeyService({ db, deviceLists, userIds, caches: { bus: caches, keyCounts: caches.register(new InvalidatedCache<SyncKeyCounts>('key_counts', Math.round(KEY_COUNT_CACHE_DEVICES * config.cacheFactor))) } });
  // A device signed in again under its id, or deleted, loses its keys: its counts go too.
  sessions.onDevicesChanged((trx, userId) => keys.keysChanged(trx, userId));
  const toDevice = new ToDeviceService({ db, notifier, userIds });
  const presence = new PresenceService({
    db, notifier, blocks: blockLists, timings: { offlineAfterMs: config.presenceOfflineAfterMs, idleAfterMs: config.presenceIdleAfterMs, activeGranularityMs: config.presenceActiveGranularityMs },
  });
  gapListeners.push((listening) => presence.listening(listening));
  const friendSummary = new FriendSummary(accountData);
  const friendRules = new FriendMembershipRules(friendSummary, audit);
  persister.check((trx, draft) => friendRules.check(trx, draft));
  persister.onStored((trx, pdu) => friendRules.onStored(trx, pdu));
  const friends = new FriendService({ db, rooms, presence, accountData, summary: friendSummary, userIds, audit });
  const blocks = new BlockService({ db, rooms, accountData, summary: friendSummary, userIds, audit, lists: blockLists });
  accountData.onClientChange(async (userId, roomId, type, content) => {
    if (roomId === '' && type === IGNORED_USERS) await blocks.ignoreListChanged(userId, content);
  });
  // Voice: Janus is started (or reached) only when a call first needs it.
  const voice = new VoiceService({ db, persister, janus: new JanusSupervisor(config, logger), logger, leaseMs: config.voiceLeaseMs });
  persister.check((trx, draft) => voice.checkDraft(trx, draft));
  persister.precede((trx, draft) => voice.precursors(trx, draft));
  notifier.subscribe((notice) => voice.onNotice(notice));
  return {
    friends,
    blocks,
    voice,
    presence,
    hierarchy: new HierarchyService(db, directory),
    userDirectory: new UserDirectoryService(db),
    keys,
    deviceLists,
    toDevice,
    keyBackup: new KeyBackupService(db),
    notifier,
    rooms,
    relations,
    directory,
    search: new SearchService(db),
    clientSupport: new ClientSupportService(db, config),
    accountData,
    receipts,
    typing,
    push,
    audit,
    twoFactor,
    mailer,
    emails,
    media,
    urlPreviews: new UrlPreviewService(config, media),
    history: new HistoryService({ db, rooms, notifier }),
    sync: new SyncService({ db, notifier, accountData, receipts, typing, push, keys, deviceLists, toDevice, presence, ownRooms, heard, recent: recentRows, blocks: blockLists }),
    filters: new FilterService(db),
    config,
    userIds,
    rateLimits,
    sessions,
    uia,
    login: new LoginService({ db, passwords, rateLimits, sessions, userIds, audit, twoFactor }),
    accounts: new AccountService({ db, config, passwords, sessions, uia, userIds, audit }),
    profiles: new ProfileService(db, rooms),
    registrationTokens: new RegistrationTokenService(db, config, audit),
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

/** `memoryTemplate`: see DatabaseOptions (tests that start many in-memory servers). */
export async function startHomeserver(initial: Config, logger: Logger, opts: { memoryTemplate?: string } = {}): Promise<RunningHomeserver> {
  const database = await openDatabase({ databaseUrl: initial.databaseUrl, dataDir: initial.dataDir, memoryTemplate: opts.memoryTemplate }, (err) =>
    logger.warn({ err }, 'database notification connection failed'),
  );
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
    const services = await buildServices(config, database, logger);
    // Voice: this process's lease on its calls; call state no live process serves is ended.
    await services.voice.start();
    handler = createApp(services, logger).callback();
    const stopVoiceSocket = attachVoiceSocket(server, services, logger);
    // The embedded database is ours alone: admin commands reach it through us.
    const stopControl = database.kind === 'pglite' && config.dataDir !== ':memory:'
      ? await startControlSocket(config.dataDir, services, logger)
      : async () => {};

    const housekeeping = setInterval(() => {
      Promise.all([services.uia.deleteExpired(), services.rateLimits.clearExpired(), services.media.deleteExpired(), services.toDevice.expireTxns(), services.audit.prune(), services.login.deleteExpiredTokens(), services.emails.deleteExpired()]).catch((err) =>
        logger.warn({ err }, 'housekeeping failed'),
      );
    }, HOUSEKEEPING_INTERVAL_MS);
    housekeeping.unref();

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        clearInterval(housekeeping);
        services.notifier.close();
        services.typing.close();
        services.presence.close();
        await services.media.close();
        services.mailer.close();
        await stopVoiceSocket();
        await services.voice.close();
        await stopControl();
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

/**
 * Stops accepting, then lets every request already sent finish. Two traps: closing the
 * listening socket resets connections the kernel completed but we had not accepted yet
 * (the event loop was busy), and http.Server.close() at once closes connections whose
 * request is still unread in the socket. So: keep listening for a moment so queued
 * connections are accepted and read, stop listening (net.Server.close), close connections
 * as they fall idle, and cut the rest after a grace period.
 */
async function shutdownHttp(server: http.Server): Promise<void> {
  // Keep accepting until no connection has come for ACCEPT_DRAIN_MS (the kernel's queue is
  // empty), at most ACCEPT_DRAIN_MAX_MS. The check runs after an I/O poll (setImmediate), so a
  // busy event loop accepts what is queued before it decides the queue is empty.
  let lastConnection = Date.now();
  const seen = () => (lastConnection = Date.now());
  server.on('connection', seen);
  const started = Date.now();
  while (Date.now() - started < ACCEPT_DRAIN_MAX_MS) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setImmediate(resolve));
    if (Date.now() - lastConnection >= ACCEPT_DRAIN_MS) break;
  }
  server.off('connection', seen);
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await closed;
  clearTimeout(force);
  clearInterval(idle);
  // Releases http.Server's own housekeeping (its connection-checking timer).
  server.close();
}
