/** PGlite on its worker thread: results, errors and notifications cross intact; a dead worker fails every call. */
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { PGliteThread } from './pgliteThread.ts';

const startParams = (PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams;

describe('PGliteThread: PGlite on a worker thread', function () {
  this.timeout(60_000);
  let db: PGliteThread;
  before(async () => {
    db = new PGliteThread({ startParams });
    await db.waitReady;
  });
  after(() => db.close());

  it('answers with rows of their types, and the rows a statement touched', async () => {
    await db.query('CREATE TABLE t (id int PRIMARY KEY, at timestamptz, big bigint, raw bytea, doc jsonb)');
    const inserted = await db.query('INSERT INTO t VALUES ($1, $2, $3, $4, $5), (2, now(), 1, NULL, NULL)', [1, new Date('2026-12-03T10:00:00Z'), '9007199254740993', new Uint8Array([1, 2, 3]), { a: 1 }]);
    assert.equal(inserted.affectedRows, 2);
    const { rows } = await db.query<{ id: number; at: Date; big: unknown; raw: Uint8Array; doc: unknown }>('SELECT * FROM t WHERE id = $1', [1]);
    assert.equal(rows[0].id, 1);
    assert.ok(rows[0].at instanceof Date);
    assert.equal(rows[0].at.toISOString(), '2026-12-03T10:00:00.000Z');
    assert.equal(String(rows[0].big), '9007199254740993');
    assert.deepEqual([...rows[0].raw], [1, 2, 3]);
    assert.deepEqual(rows[0].doc, { a: 1 });
  });

  it('keeps Postgres error fields: a duplicate key is 23505 with its constraint', async () => {
    await assert.rejects(db.query('INSERT INTO t (id) VALUES (1)'), (err: Error & { code?: string; constraint?: string }) => {
      assert.equal(err.code, '23505');
      assert.equal(err.constraint, 't_pkey');
      assert.match(err.message, /duplicate key/);
      return true;
    });
    // The connection goes on after an error, in order.
    const results = await Promise.all([1, 2, 3].map((n) => db.query<{ n: number }>('SELECT $1::int AS n', [n])));
    assert.deepEqual(results.map((r) => r.rows[0].n), [1, 2, 3]);
  });

  it('delivers notifications after the commit, to each listener until it unlistens', async () => {
    const heard: string[] = [];
    const unlisten = await db.listen('chan', (p) => heard.push(p));
    await db.query('BEGIN');
    await db.query("SELECT pg_notify('chan', 'one')");
    assert.deepEqual(heard, []);
    await db.query('COMMIT');
    for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(heard, ['one']);
    await unlisten();
    await db.query("SELECT pg_notify('chan', 'two')");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(heard, ['one']);
  });

  it("hands a transaction's notifications over together, before anything the first one wakes can run", async () => {
    const heard: string[] = [];
    let heardWhenFirstWoke = -1;
    await db.listen('batch', (p) => {
      heard.push(p);
      if (heard.length === 1) queueMicrotask(() => (heardWhenFirstWoke = heard.length));
    });
    await db.query('BEGIN');
    for (const p of ['a', 'b', 'c']) await db.query('SELECT pg_notify($1, $2)', ['batch', p]);
    await db.query('COMMIT');
    assert.deepEqual(heard, ['a', 'b', 'c'], 'heard before the commit returns');
    assert.equal(heardWhenFirstWoke, 3);
  });

  it('once closed, every call is refused', async () => {
    const other = new PGliteThread({ startParams });
    await other.waitReady;
    await other.close();
    await assert.rejects(other.query('SELECT 1'), /closed/);
  });

  it('a worker that cannot open the database fails waitReady and reports it', async () => {
    const reported: Error[] = [];
    const bad = new PGliteThread({ dataDir: '/proc/no-such-dir/pglite', startParams }, (err) => reported.push(err));
    await assert.rejects(bad.waitReady);
    await assert.rejects(bad.query('SELECT 1'));
    assert.equal(reported.length, 1);
    await bad.close();
  });
});
