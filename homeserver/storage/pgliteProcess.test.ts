/**
 * PGlite in its child process, through knex as the server uses it: sessions run concurrently
 * but a transaction has the backend alone, errors keep PostgreSQL's fields, values keep their
 * types, notifications come after the statement that sent them, and a dead child is replaced
 * without letting a transaction go on as autocommit statements.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from './database.ts';
import { isUniqueViolation } from './results.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PGlite child process', function () {
  this.timeout(60_000);
  let database: Database;
  const errors: Error[] = [];

  before(async () => {
    database = await openDatabase({ dataDir: ':memory:' }, (err) => errors.push(err));
    await database.db.raw('CREATE TABLE t (id int PRIMARY KEY, at timestamptz, big bigint, bytes bytea, doc jsonb)');
  });
  after(() => database.close());

  it('runs in a process of its own', () => {
    assert.ok(database.childPid && database.childPid !== process.pid);
  });

  it('keeps value types and PostgreSQL error fields across the channel', async () => {
    const at = new Date('2026-12-04T10:00:00.123Z');
    await database.db('t').insert({ id: 1, at, big: '9007199254740993', bytes: Buffer.from([1, 2, 255]), doc: JSON.stringify({ a: [1] }) });
    const row = await database.db('t').where({ id: 1 }).first();
    assert.ok(row.at instanceof Date);
    assert.equal(row.at.toISOString(), at.toISOString());
    assert.equal(String(row.big), '9007199254740993');
    assert.deepEqual([...row.bytes], [1, 2, 255]);
    const err = await database.db('t').insert({ id: 1 }).catch((e: unknown) => e);
    assert.ok(isUniqueViolation(err), `a unique violation with code 23505, got ${String(err)}`);
    assert.equal((err as { constraint?: string }).constraint, 't_pkey');
  });

  it('gives a transaction the backend alone while other sessions keep working', async () => {
    await database.db('t').del();
    let inside = false;
    const outsideSaw: boolean[] = [];
    const trx = database.db.transaction(async (tx) => {
      await tx('t').insert({ id: 10 });
      inside = true;
      // Other sessions' statements queued now must not run inside this transaction...
      await sleep(100);
      await tx('t').insert({ id: 11 });
      inside = false;
      throw new Error('roll back');
    });
    await sleep(20);
    // ...so they see neither row, and they are not rolled back with it.
    const outside = (async () => {
      const rows = await database.db('t').select('id');
      outsideSaw.push(inside);
      await database.db('t').insert({ id: 20 });
      return rows.map((r) => r.id);
    })();
    await assert.rejects(trx, /roll back/);
    assert.deepEqual(await outside, []);
    assert.deepEqual(outsideSaw, [false], 'the outside statement waited for the transaction to end');
    assert.deepEqual((await database.db('t').select('id')).map((r) => r.id), [20]);
  });

  it('runs statements of several sessions back to back', async () => {
    const pool = (database.db.client as { pool: { numUsed(): number } }).pool;
    let most = 0;
    const poll = setInterval(() => (most = Math.max(most, pool.numUsed())), 0);
    await Promise.all(Array.from({ length: 40 }, (_, i) => database.db.raw('SELECT pg_sleep(0.001), ? AS i', [i])));
    clearInterval(poll);
    assert.ok(most > 1, `more than one session in use at once (saw ${most})`);
  });

  it('delivers a notification after the result of the statement that sent it', async () => {
    const order: string[] = [];
    await database.notifications.listen('test_order', { onMessage: (p) => order.push(`heard ${p}`), onGap: () => {} });
    await database.db.raw("SELECT pg_notify('test_order', 'one')").then(() => order.push('result'));
    await sleep(20);
    assert.deepEqual(order, ['result', 'heard one']);
    await database.db.transaction(async (tx) => {
      await tx.raw("SELECT pg_notify('test_order', 'two')");
      await sleep(20);
      order.push('before commit');
    });
    await sleep(20);
    assert.deepEqual(order.slice(2), ['before commit', 'heard two'], 'only after its commit');
  });
});

describe('PGlite in memory from a template', function () {
  this.timeout(60_000);
  it('starts a new in-memory database as a copy of a dump, which later writes to either do not touch', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'whisper-pglite-'));
    const file = path.join(dir, 'template.tar');
    const original = await openDatabase({ dataDir: ':memory:' });
    try {
      await original.db.raw('CREATE TABLE kept (v text)');
      await original.db('kept').insert({ v: 'in the template' });
      await original.dumpTo!(file);
      await original.db('kept').insert({ v: 'after the dump' });
      const copies = [await openDatabase({ dataDir: ':memory:', memoryTemplate: file }), await openDatabase({ dataDir: ':memory:', memoryTemplate: file })];
      await copies[0].db('kept').insert({ v: 'only in the first copy' });
      assert.deepEqual(await copies[0].db('kept').select('v').orderBy('v'), [{ v: 'in the template' }, { v: 'only in the first copy' }]);
      assert.deepEqual(await copies[1].db('kept').select('v'), [{ v: 'in the template' }]);
      // The migrations the template was made after are not run again.
      const migrations = async (d: Database) => (await d.db('knex_migrations').select('name').orderBy('id')).map((r: { name: string }) => r.name);
      assert.deepEqual(await migrations(copies[1]), await migrations(original));
      for (const c of copies) await c.close();
    } finally {
      await original.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PGlite child process on disk', function () {
  this.timeout(60_000);
  it('keeps what was written across a close and a new start', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'whisper-pglite-'));
    try {
      let database = await openDatabase({ dataDir: dir });
      await database.db.raw('CREATE TABLE kept (v text)');
      await database.db('kept').insert({ v: 'still here' });
      await database.close();
      database = await openDatabase({ dataDir: dir });
      assert.deepEqual(await database.db('kept').select('v'), [{ v: 'still here' }]);
      await database.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a dead child: pending statements fail, open transactions do not go on, listeners hear the gap', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'whisper-pglite-'));
    const errors: Error[] = [];
    const database = await openDatabase({ dataDir: dir }, (err) => errors.push(err));
    await database.db.raw('CREATE TABLE t (id int)');
    const gaps: boolean[] = [];
    await database.notifications.listen('test_gap', { onMessage: () => {}, onGap: (l) => gaps.push(l) });
    const trx = database.db.transaction(async (tx) => {
      await tx.raw('SELECT 1');
      process.kill(database.childPid!, 'SIGKILL');
      await sleep(300);
      // The new child must not run this as an autocommit statement.
      await tx('t').insert({ id: 30 });
    });
    await assert.rejects(trx);
    const deadline = Date.now() + 20_000;
    let rows: Array<{ id: number }> | undefined;
    while (!rows && Date.now() < deadline) {
      rows = await database.db.raw('SELECT 1 AS id').then((r: { rows: Array<{ id: number }> }) => r.rows, () => undefined);
      if (!rows) await sleep(100);
    }
    assert.deepEqual(rows, [{ id: 1 }], 'the database answers again');
    assert.ok(errors.some((e) => /exited/.test(e.message)), 'the death was reported');
    await sleep(50);
    assert.deepEqual(gaps, [false, true]);
    assert.deepEqual(await database.db('t').select('id'), [], 'the transaction was rolled back, not finished by the new child');
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
