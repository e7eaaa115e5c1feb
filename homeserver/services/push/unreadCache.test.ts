/**
 * Unread counts kept in memory: applied from the push actions of events written here, in
 * the order heard; read again whenever something not known here may have changed them.
 */
import assert from 'node:assert/strict';
import type { Notice } from '../sync/notifier.ts';
import { UnreadCountCache, type UnreadCounts, type WrittenActions } from './unreadCache.ts';

const zero = (): UnreadCounts => ({ main: { notification_count: 0, highlight_count: 0 }, threads: {} });

function setup() {
  const cache = new UnreadCountCache(100);
  const loads: Array<number | undefined> = [];
  let stored = zero();
  const read = (userId: string, blocked: ReadonlySet<string>, frontier: number | null = 10) =>
    cache.read(userId, '!r', blocked, frontier ?? undefined, async (upTo) => {
      loads.push(upTo);
      return structuredClone(stored);
    });
  const write = (position: number, actions: Partial<WrittenActions> & { users: WrittenActions['users'] }) =>
    cache.writing({ eventId: `$e${position}`, sender: '@s', thread: 'main', ...actions });
  const advance = (position: number, n: Partial<Notice> = {}) =>
    cache.advanced({ stream: 'events', position, roomId: '!r', eventId: `$e${position}`, ...n } as Notice);
  return { cache, loads, read, write, advance, store: (c: UnreadCounts) => (stored = c) };
}

const none: ReadonlySet<string> = new Set();

describe('UnreadCountCache: unread counts kept in memory', () => {
  it('counts the actions of events written here without reading, threads and highlights apart', async () => {
    const s = setup();
    assert.deepEqual(await s.read('@u', none), zero());
    assert.deepEqual(s.loads, [10], 'read up to the frontier');
    s.write(11, { users: [{ userId: '@u', highlight: false }, { userId: '@v', highlight: false }] });
    s.advance(11);
    s.write(12, { users: [{ userId: '@u', highlight: true }], thread: '$root' });
    s.advance(12);
    s.write(13, { users: [] });
    s.advance(13);
    const counts = await s.read('@u', none);
    assert.deepEqual(counts, { main: { notification_count: 1, highlight_count: 0 }, threads: { $root: { notification_count: 1, highlight_count: 1 } } });
    assert.equal(s.loads.length, 1, 'no second read');
    counts.main.notification_count = 99;
    counts.threads.$root.highlight_count = 99;
    Object.assign(counts.threads, { $other: { notification_count: 5, highlight_count: 0 } });
    const again = await s.read('@u', none);
    assert.deepEqual(again, { main: { notification_count: 1, highlight_count: 0 }, threads: { $root: { notification_count: 1, highlight_count: 1 } } }, 'answers are copies, threads too');
    s.write(14, { users: [{ userId: '@u', highlight: true }], thread: '$root' });
    s.advance(14);
    assert.deepEqual(again.threads.$root, { notification_count: 1, highlight_count: 1 }, 'a later count does not reach an answer given');
    assert.deepEqual((await s.read('@u', none)).threads.$root, { notification_count: 2, highlight_count: 2 });
  });

  it('reads again after an event written elsewhere, a receipt, or the user\'s membership change', async () => {
    const s = setup();
    await s.read('@u', none);
    await s.read('@w', none);
    s.advance(11); // nothing recorded for 11: another process wrote it
    await s.read('@u', none);
    await s.read('@w', none);
    assert.equal(s.loads.length, 4, 'the whole room is read again');
    s.cache.receipt('!r', '@u');
    await s.read('@u', none);
    await s.read('@w', none);
    assert.equal(s.loads.length, 5, 'only the reader of the receipt');
    s.write(12, { users: [] });
    s.advance(12, { type: 'm.room.member', stateKey: '@w', membership: 'join' });
    await s.read('@u', none);
    await s.read('@w', none);
    assert.equal(s.loads.length, 6, 'only the member who changed');
  });

  it('leaves out blocked senders, and reads again with a new block list', async () => {
    const s = setup();
    const blocked = new Set(['@s']);
    await s.read('@u', blocked);
    s.write(11, { users: [{ userId: '@u', highlight: false }] });
    s.advance(11);
    assert.equal((await s.read('@u', blocked)).main.notification_count, 0);
    s.store({ main: { notification_count: 1, highlight_count: 0 }, threads: {} });
    assert.equal((await s.read('@u', new Set())).main.notification_count, 1, 'unblocked: counted again from the database');
    assert.equal(s.loads.length, 2);
  });

  it('does not keep a read that raced with an event or a receipt, nor one made while deaf or without a frontier', async () => {
    const s = setup();
    let during: () => void = () => {};
    const racing = s.cache.read('@u', '!r', none, 10, async () => {
      during();
      return zero();
    });
    during = () => {};
    await racing;
    await s.read('@u', none);
    assert.equal(s.loads.length, 0, 'a read with no race is kept');
    s.cache.receipt('!r', '@u');
    await s.cache.read('@u', '!r', none, 10, async () => {
      s.cache.receipt('!r', '@u');
      return zero();
    });
    await s.read('@u', none);
    assert.equal(s.loads.length, 1, 'the raced read was not kept');
    s.cache.receipt('!r', '@u');
    await s.read('@u', none, null);
    await s.read('@u', none, null);
    assert.deepEqual(s.loads.slice(1), [undefined, undefined], 'no frontier: unbounded reads, not kept');
    s.cache.listening(false);
    await s.read('@u', none);
    await s.read('@u', none);
    assert.deepEqual(s.loads.slice(3), [undefined, undefined], 'deaf: not kept');
  });

  it('never applies a recorded write to another event at its position', async () => {
    const s = setup();
    await s.read('@u', none);
    s.write(11, { users: [{ userId: '@u', highlight: false }] }); // rolled back, then 11 went elsewhere
    s.advance(11, { eventId: '$other' });
    await s.read('@u', none);
    assert.equal(s.loads.length, 2);
  });
});
