/**
 * The embedded PGlite, run in a child process of the server (started by pgliteProcess.ts).
 * PGlite executes SQL synchronously on the thread that calls it; here that thread is not the
 * server's event loop, and SQL gets the second core.
 *
 * The parent's knex pool holds several sessions over this one Postgres backend. Statements
 * run in arrival order, except that a session inside a transaction has the backend to itself
 * from BEGIN to COMMIT or ROLLBACK: the other sessions' statements wait, so none of them runs
 * inside someone else's transaction.
 *
 * Notifications a statement delivered (after its commit) are sent after its result, so the
 * parent resolves the statement before it hears what the statement announced.
 *
 *   node homeserver/storage/pgliteChild.ts   (messages: see PgliteRequest / PgliteReply)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { PgliteReply, PgliteRequest, QueryRequest } from './pgliteProtocol.ts';
import { errorFields } from './pgliteProtocol.ts';

const send = (reply: PgliteReply) => process.send!(reply);

let pglite: PGlite | undefined;
/** Statements not yet run, in arrival order. */
const waiting: QueryRequest[] = [];
/** The session whose transaction is open: only its statements may run. */
let owner: number | undefined;
let running = false;
/** Notifications delivered while the current statement ran. */
let heard: Array<[string, string]> = [];

async function runWaiting(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (;;) {
      const i = owner === undefined ? 0 : waiting.findIndex((q) => q.session === owner);
      if (i < 0 || i >= waiting.length) break;
      const [q] = waiting.splice(i, 1);
      await runOne(q);
    }
  } finally {
    running = false;
  }
}

async function runOne(q: QueryRequest): Promise<void> {
  heard = [];
  try {
    const result = await pglite!.query(q.sql, q.params, q.options);
    send({ kind: 'result', id: q.id, result: { rows: result.rows as Array<Record<string, unknown>>, fields: result.fields, affectedRows: result.affectedRows } });
  } catch (err) {
    send({ kind: 'error', id: q.id, error: errorFields(err) });
  }
  owner = pglite!.isInTransaction() ? q.session : undefined;
  if (heard.length) send({ kind: 'notifications', list: heard });
  heard = [];
}

/** A session the parent dropped must not keep the backend: its open transaction is rolled back. */
async function endSession(session: number): Promise<void> {
  for (let i = waiting.length - 1; i >= 0; i--) {
    if (waiting[i].session === session) {
      send({ kind: 'error', id: waiting[i].id, error: { message: 'the database session was closed' } });
      waiting.splice(i, 1);
    }
  }
  if (owner === session) {
    waiting.unshift({ kind: 'query', id: -1, session, sql: 'ROLLBACK', params: [] });
    // The reply to id -1 is ignored by the parent.
    await runWaiting();
  }
}

process.on('message', (msg: PgliteRequest) => {
  switch (msg.kind) {
    case 'open':
      (msg.loadDump ? readFile(msg.loadDump).then((bytes) => new Blob([bytes])) : Promise.resolve(undefined))
        .then((loadDataDir) => PGlite.create({ dataDir: msg.dataDir, startParams: msg.startParams, ...(loadDataDir ? { loadDataDir } : {}) }))
        .then(
          (db) => {
            pglite = db;
            db.onNotification((channel, payload) => heard.push([channel, payload]));
            send({ kind: 'ready' });
          },
          (err) => send({ kind: 'failed', error: errorFields(err) }),
        );
      break;
    case 'query':
      waiting.push(msg);
      void runWaiting();
      break;
    case 'dump':
      void (async () => {
        try {
          // Between statements, so no transaction is half in the copy.
          while (running || waiting.length || owner !== undefined) await new Promise((r) => setTimeout(r, 5));
          const tar = await pglite!.dumpDataDir('none');
          await writeFile(msg.file, Buffer.from(await tar.arrayBuffer()));
          send({ kind: 'result', id: msg.id, result: { rows: [], fields: [], affectedRows: 0 } });
        } catch (err) {
          send({ kind: 'error', id: msg.id, error: errorFields(err) });
        }
      })();
      break;
    case 'listen':
      // LISTEN runs as a statement of its own session, in order with the others.
      waiting.push({ kind: 'query', id: msg.id, session: -2, sql: `LISTEN "${msg.channel}"`, params: [] });
      void runWaiting();
      break;
    case 'endSession':
      void endSession(msg.session);
      break;
    case 'close':
      void (async () => {
        closing = true;
        while (running || waiting.length) await new Promise((r) => setTimeout(r, 5));
        await pglite?.close();
        process.send!({ kind: 'closed' } satisfies PgliteReply, () => process.exit(0));
      })();
      break;
  }
});

let closing = false;
// Ctrl-C in a terminal signals the whole process group: the server stops first, finishing its
// requests, and then closes us. A signal of our own would cut that short.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
// The parent went away without closing us (it crashed or was killed): nothing else can reach
// this database, and PGlite's files are left consistent by closing it.
process.on('disconnect', () => {
  if (closing) return;
  closing = true;
  void (pglite?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
