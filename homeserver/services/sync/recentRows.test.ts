/**
 * The rows of recent events, with a stand-in notifier and database: a row written here is
 * served without a read, one written elsewhere is read once, and a row a later event changed
 * is read again.
 */
import assert from 'node:assert/strict';
import type { Db } from '../../storage/database.ts';
import type { EventRow } from '../../storage/events.ts';
import type { Notice, Notifier } from './notifier.ts';
import { RecentEventRows } from './recentRows.ts';

const row = (position: number, body = `m${position}`) =>
  ({ stream_ordering: position, event_id: `$e${position}`, room_id: '!a', type: 'm.room.message', state_key: null, sender: '@s', json: { content: { body } } }) as unknown as EventRow;

function standIns() {
  const stored = new Map<number, EventRow>();
  const reads: number[][] = [];
  let gate: Promise<void> = Promise.resolve();
  // The one read RecentEventRows makes: events whereIn stream_ordering.
  const db = (() => ({
    whereIn: async (_col: string, positions: number[]) => {
      reads.push(positions);
      const answer = positions.flatMap((p) => (stored.has(p) ? [{ ...stored.get(p)!, json: JSON.stringify(stored.get(p)!.json) }] : []));
      await gate;
      return answer;
    },
  })) as unknown as Db;
  const listeners: Array<(n: Notice) => void> = [];
  const notifier = { subscribe: (l: (n: Notice) => void) => listeners.push(l) } as unknown as Notifier;
  const hear = (n: Partial<Notice> & { position: number }) => listeners.forEach((l) => l({ stream: 'events', roomId: '!a', ...n } as Notice));
  return { db, notifier, hear, stored, reads, hold: () => { let open!: () => void; gate = new Promise((r) => (open = r)); return () => open(); } };
}

const bodies = (rows: EventRow[]) => rows.map((r) => r.json.content.body);

describe('RecentEventRows: the rows of recent events', () => {
  it('serves rows written here without reading, and reads those written elsewhere once', async () => {
    const s = standIns();
    const recent = new RecentEventRows(s.db, s.notifier, 100);
    s.hear({ position: 1, eventId: '$e1', row: row(1) });
    s.stored.set(2, row(2));
    assert.deepEqual(bodies(await recent.at([1, 2])), ['m1', 'm2']);
    assert.deepEqual(s.reads, [[2]], 'only the remote row was read');
    assert.deepEqual(bodies(await recent.at([2, 1])), ['m2', 'm1'], 'in the order asked');
    assert.equal(s.reads.length, 1, 'and then kept');
  });

  it('keeps a row written here once its commit is heard, even through the database before the writer', async () => {
    const s = standIns();
    const recent = new RecentEventRows(s.db, s.notifier, 100);
    // Registered before its statement ran: the position comes with the notice.
    const { stream_ordering: _unknown, ...written } = row(1);
    recent.writing(written);
    // The commit's NOTIFY (no row in it) arrives before the writer's own notice.
    s.hear({ position: 1, eventId: '$e1' });
    assert.deepEqual(bodies(await recent.at([1])), ['m1']);
    assert.equal(s.reads.length, 0, 'served without a read');
  });

  it('never serves a written row whose transaction rolled back and whose position went to another event', async () => {
    const s = standIns();
    const recent = new RecentEventRows(s.db, s.notifier, 100);
    recent.writing(row(1, 'rolled back'));
    recent.writing({ ...row(1, 'another writer'), event_id: '$third' });
    s.stored.set(1, { ...row(1, 'committed'), event_id: '$other' });
    s.hear({ position: 1, eventId: '$other' });
    assert.deepEqual(bodies(await recent.at([1])), ['committed']);
    assert.equal(s.reads.length, 1);
  });

  it('reads a row again once a later event touched it', async () => {
    const s = standIns();
    const recent = new RecentEventRows(s.db, s.notifier, 100);
    s.hear({ position: 1, eventId: '$e1', row: row(1) });
    s.stored.set(1, row(1, '(redacted)'));
    s.hear({ position: 2, type: 'm.room.redaction', touches: '$e1' });
    assert.deepEqual(bodies(await recent.at([1])), ['(redacted)']);
  });

  it('does not keep a read that raced with a touch', async () => {
    const s = standIns();
    const recent = new RecentEventRows(s.db, s.notifier, 100);
    s.stored.set(1, row(1, 'before'));
    const open = s.hold();
    const reading = recent.at([1]);
    s.stored.set(1, row(1, 'after'));
    s.hear({ position: 2, touches: '$e1' });
    open();
    assert.deepEqual(bodies(await reading), ['before'], 'the raced read answers as it read');
    assert.deepEqual(bodies(await recent.at([1])), ['after'], 'but was not kept');
  });

  it('keeps nothing while notifications are down', async () => {
    const s = standIns();
    const recent = new RecentEventRows(s.db, s.notifier, 100);
    s.stored.set(1, row(1));
    recent.listening(false);
    await recent.at([1]);
    await recent.at([1]);
    assert.equal(s.reads.length, 2);
  });
});
