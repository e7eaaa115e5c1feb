/**
 * The events positions a process has heard, with a stand-in notifier and database: the
 * overview a sync reads instead of the database is given only for windows whose every
 * position was heard, in order, once.
 */
import assert from 'node:assert/strict';
import type { Db } from '../../storage/database.ts';
import { HeardEvents } from './heardEvents.ts';
import type { Notice, Notifier } from './notifier.ts';

function standIns(committed = 0) {
  let position = committed;
  // committedPositions' read, answered when the test says so.
  let answer: () => void = () => {};
  const db = (() => ({ select: () => new Promise((resolve) => (answer = () => resolve([{ stream: 'events', position: String(position) }]))) })) as unknown as Db;
  const listeners: Array<(n: Notice) => void> = [];
  const notifier = { subscribe: (l: (n: Notice) => void) => listeners.push(l) } as unknown as Notifier;
  const hear = (n: Partial<Notice> & { position: number }) => listeners.forEach((l) => l({ stream: 'events', roomId: '!a', type: 'm.room.message', ...n } as Notice));
  return { db, notifier, hear, commit: (p: number) => (position = p), answer: () => answer() };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('HeardEvents: the events positions this process has heard', () => {
  it('overviews a window of heard events: rooms with events and membership changes, in order', () => {
    const s = standIns();
    const heard = new HeardEvents(s.db, s.notifier, 10, 100);
    s.hear({ position: 11, roomId: '!a' });
    s.hear({ position: 12, roomId: '!b', type: 'm.room.member', stateKey: '@x', membership: 'join' });
    s.hear({ position: 13, roomId: '!c' });
    s.hear({ position: 14, roomId: '!b', type: 'm.room.member', stateKey: '@x', membership: 'leave' });
    s.hear({ stream: 'receipts', position: 15, roomId: '!a' });
    assert.equal(heard.frontier, 14, 'other streams do not count');
    const o = heard.overview(['!a', '!b'], 10, 14)!;
    assert.deepEqual([...o.roomsWithEvents].sort(), ['!a', '!b']);
    assert.deepEqual(o.memberEvents, [
      { room_id: '!b', user_id: '@x', membership: 'join' },
      { room_id: '!b', user_id: '@x', membership: 'leave' },
    ]);
    assert.deepEqual([...heard.overview(['!a', '!b', '!c'], 12, 13)!.roomsWithEvents], ['!c'], 'only (after, upTo]');
    assert.equal(heard.overview(['!a'], 9, 14), undefined, 'from before this process listened: unknown');
    assert.equal(heard.overview(['!a'], 10, 15), undefined, 'beyond the frontier: unknown');
  });

  it('waits for a position heard late, and hears a position twice only once', () => {
    const s = standIns();
    const heard = new HeardEvents(s.db, s.notifier, 10, 100);
    // A local commit at 12 before another process's NOTIFY of 11.
    s.hear({ position: 12, roomId: '!b' });
    assert.equal(heard.overview(['!a', '!b'], 10, 12), undefined, '11 may be anything until heard');
    assert.equal(heard.frontier, 10);
    s.hear({ position: 11, roomId: '!a', type: 'm.room.member', stateKey: '@y', membership: 'invite' });
    // This process's own NOTIFY of 12 comes back after its local commit.
    s.hear({ position: 12, roomId: '!b' });
    assert.equal(heard.frontier, 12);
    const o = heard.overview(['!a', '!b'], 10, 12)!;
    assert.deepEqual([...o.roomsWithEvents].sort(), ['!a', '!b']);
    assert.deepEqual(o.memberEvents, [{ room_id: '!a', user_id: '@y', membership: 'invite' }]);
  });

  it('keeps only the newest notices: older windows are not answered', () => {
    const s = standIns();
    const heard = new HeardEvents(s.db, s.notifier, 0, 4);
    for (let p = 1; p <= 20; p++) s.hear({ position: p, roomId: `!r${p}` });
    assert.equal(heard.overview(['!r1'], 0, 20), undefined);
    assert.deepEqual([...heard.overview(['!r19', '!r20', '!r3'], 16, 20)!.roomsWithEvents], ['!r19', '!r20']);
  });

  it("answers a room's positions and its membership changes across trims, for any window kept", () => {
    const s = standIns();
    const heard = new HeardEvents(s.db, s.notifier, 0, 40);
    for (let p = 1; p <= 200; p++) {
      const member = p % 10 === 0;
      s.hear({ position: p, roomId: p % 3 === 0 ? '!busy' : `!quiet${p % 7}`, ...(member ? { type: 'm.room.member', stateKey: `@u${p}`, membership: 'join' } : {}) });
    }
    // At least the newest 40 are kept (trims come in batches).
    const low = 200 - 40;
    assert.equal(heard.positionsIn('!busy', 100, 200), undefined, 'trimmed away');
    const expected = [];
    for (let p = low + 1; p <= 200; p++) if (p % 3 === 0) expected.push(p);
    assert.deepEqual(heard.positionsIn('!busy', low, 200), expected);
    assert.deepEqual(heard.positionsIn('!busy', 190, 195), [192, 195]);
    assert.deepEqual(heard.positionsIn('!nowhere', 190, 195), []);
    const o = heard.overview(['!busy', '!quiet0'], 185, 200)!;
    assert.deepEqual([...o.roomsWithEvents], ['!busy', '!quiet0']);
    // 190 and 200 are membership events: 190 in !quiet1 (not asked), 200 in !quiet4 (not asked); 195 none.
    assert.deepEqual(o.memberEvents, []);
    assert.deepEqual(heard.overview(['!quiet1'], 185, 200)!.memberEvents, [{ room_id: '!quiet1', user_id: '@u190', membership: 'join' }]);
    assert.deepEqual(heard.overview(['!busy'], low, 200)!.memberEvents, [{ room_id: '!busy', user_id: '@u180', membership: 'join' }]);
  });

  it('trusts nothing while notifications are down, and restarts from the committed position', async () => {
    const s = standIns(10);
    const heard = new HeardEvents(s.db, s.notifier, 10, 100);
    heard.listening(false);
    s.hear({ position: 11 });
    assert.equal(heard.overview(['!a'], 10, 10), undefined, 'deaf: nothing is known');
    s.commit(13); // 11–13 committed meanwhile; only 11 was heard, and 14 comes while the read runs
    heard.listening(true);
    s.hear({ position: 14, roomId: '!late' });
    assert.equal(heard.frontier, undefined, 'back, but the committed position is not known yet');
    s.answer();
    await flush();
    assert.equal(heard.frontier, 14, 'restarted from 13, and 14 (heard meanwhile) follows');
    assert.equal(heard.overview(['!a'], 10, 14), undefined, '11–13 were not all heard');
    assert.deepEqual([...heard.overview(['!late'], 13, 14)!.roomsWithEvents], ['!late']);
  });

  it('ignores a committed position read before the last change of listening', async () => {
    const s = standIns(10);
    const heard = new HeardEvents(s.db, s.notifier, 10, 100);
    heard.listening(false);
    heard.listening(true);
    const firstAnswer = s.answer;
    heard.listening(false); // down again before the first read answered
    firstAnswer();
    await flush();
    assert.equal(heard.frontier, undefined, 'still deaf');
  });
});
