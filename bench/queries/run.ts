/**
 * `npm run bench:queries`: SQL statements the server runs per message sent into a group of 20
 * long-polling members (the send itself, and every member's sync answer), counted with knex's
 * query event on an in-process server. A count, not a time: it does not depend on what else
 * the machine is doing, and each statement is a round trip (PostgreSQL) or a WebAssembly
 * Postgres call (PGlite), which is where the sync benchmark's time goes.
 * The same traffic runs twice in one run: with the in-memory caches off (WHISPER_CACHE_FACTOR
 * 0, the baseline) and on (the default), and the ratios compare them.
 * Output: one JSON document with totals per phase and the statements ranked by count.
 */
import { Writable } from 'node:stream';
import { buildConfig, uniformRateLimits } from '../../homeserver/config.ts';
import { createLogger } from '../../homeserver/logging.ts';
import { startHomeserver } from '../../homeserver/main.ts';
import { envNumber } from '../shared/env.ts';

const MEMBERS = envNumber('BENCH_MEMBERS', 20);
const MESSAGES = envNumber('BENCH_MESSAGES', 20);

async function measure(cacheFactor: number) {
  const config = buildConfig({
    port: 0, host: '127.0.0.1', dataDir: ':memory:', serverName: 'bench.test', databaseUrl: process.env.DATABASE_URL,
    registration: 'open', logLevel: 'warn', rateLimits: uniformRateLimits({ points: 1_000_000, durationSec: 1 }), cacheFactor,
  });
  const hs = await startHomeserver(config, createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })));
  const counts = new Map<string, number>();
  let counting = false;
  hs.database.db.on('query', (q: { sql: string }) => {
    if (!counting) return;
    const sql = q.sql.replace(/\$\d+|\?/g, '?').replace(/\s+/g, ' ').replace(/\((\?, )+\?\)/g, '(…)').slice(0, 160);
    counts.set(sql, (counts.get(sql) ?? 0) + 1);
  });
  const total = () => [...counts.values()].reduce((a, b) => a + b, 0);

  async function call(method: string, path: string, token?: string, body?: unknown): Promise<any> {
    const res = await fetch(hs.url + path, {
      method, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  const users: Array<{ user_id: string; access_token: string }> = [];
  for (let i = 0; i < MEMBERS; i++) {
    users.push(await call('POST', '/_matrix/client/v3/register', undefined, { username: `c${cacheFactor}u${i}`, password: 'bench password', auth: { type: 'm.login.dummy' } }));
  }
  const owner = users[0];
  const { room_id: roomId } = await call('POST', '/_matrix/client/v3/createRoom', owner.access_token, { preset: 'public_chat', name: 'bench' });
  for (const u of users.slice(1)) await call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, u.access_token, {});
  const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 10 } } }));
  const since = new Map<string, string>();
  for (const u of users) since.set(u.user_id, (await call('GET', `/_matrix/client/v3/sync?filter=${filter}`, u.access_token)).next_batch);

  counting = true;
  for (let m = 0; m < MESSAGES; m++) {
    // Every member long-polls, then one message: the send, and the sync answers it causes
    // (and the next long-poll each member starts).
    const polls = users.map(async (u) => {
      const body = await call('GET', `/_matrix/client/v3/sync?timeout=10000&filter=${filter}&since=${encodeURIComponent(since.get(u.user_id)!)}`, u.access_token);
      since.set(u.user_id, body.next_batch);
    });
    await new Promise((r) => setTimeout(r, 50));
    const sender = users[m % users.length];
    await call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${m}`, sender.access_token, { msgtype: 'm.text', body: `message ${m}` });
    await Promise.all(polls);
  }
  const delivered = total();
  const deliveredCounts = new Map(counts);
  counts.clear();
  // The send alone: nobody polling.
  for (let m = 0; m < MESSAGES; m++) {
    await call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/s${m}`, owner.access_token, { msgtype: 'm.text', body: `quiet ${m}` });
  }
  const sendOnly = total();
  counting = false;
  const phases = {
    perMessageDelivered: delivered / MESSAGES,
    perSend: sendOnly / MESSAGES,
    perSyncAnswer: (delivered - sendOnly) / (MESSAGES * MEMBERS),
  };
  // Ranked over the sends alone would hide the sync side: rank the delivered run (kept below).
  const ranked = [...deliveredCounts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([sql, n]) => ({ perMessage: Math.round((n / MESSAGES) * 10) / 10, sql }));
  const sendStatements = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([sql, n]) => ({ perSend: Math.round((n / MESSAGES) * 10) / 10, sql }));
  await hs.close();
  return { backend: hs.database.kind, queries: phases, top: ranked, send: sendStatements };
}

const withoutCaches = await measure(0);
const withCaches = await measure(1);
const ratio = (k: keyof typeof withCaches.queries) => Math.round((withCaches.queries[k] / withoutCaches.queries[k]) * 1000) / 1000;
console.log(JSON.stringify({
  backend: withCaches.backend, members: MEMBERS, messages: MESSAGES,
  cachesOffToOn: { perMessageDelivered: ratio('perMessageDelivered'), perSend: ratio('perSend'), perSyncAnswer: ratio('perSyncAnswer') },
  withoutCaches: { queries: withoutCaches.queries, send: withoutCaches.send },
  withCaches,
}, null, 2));
