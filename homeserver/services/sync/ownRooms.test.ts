/**
 * The frontier rule of the rooms-of-a-user cache, with a stand-in notifier and database: an
 * answer beyond the contiguous positions heard reads the database, whatever the cache holds.
 */
import assert from 'node:assert/strict';
import type { Db } from '../../storage/database.ts';
import type { Notice, Notifier } from './notifier.ts';
import { HeardEvents } from './heardEvents.ts';
import { OwnRooms } from './ownRooms.ts';

function standIns() {
  let reads = 0;
  let rooms = [{ room_id: '!a', membership: 'join', stream_ordering: 1 }];
  // Knex's builder as these two reads use it: db(table), any chain of calls, then awaited.
  const builder = (table: string): any => {
    const chain: any = new Proxy(() => chain, {
      get: (_t, prop) => (prop === 'then'
        ? (resolve: (v: unknown) => void) => {
            if (table === 'stream_positions') return resolve([{ stream: 'events', position: '5' }]);
            reads++;
            resolve(rooms.map((r) => ({ ...r, stream_ordering: String(r.stream_ordering) })));
          }
        : () => chain),
      apply: () => chain,
    });
    return chain;
  };
  const db = ((table: string) => builder(table)) as unknown as Db;
  const listeners: Array<(n: Notice) => void> = [];
  const notifier = { subscribe: (l: (n: Notice) => void) => listeners.push(l) } as unknown as Notifier;
  const hear = (n: Partial<Notice>) => listeners.forEach((l) => l({ stream: 'events', position: 0, ...n } as Notice));
  return { db, notifier, hear, reads: () => reads, setRooms: (r: typeof rooms) => (rooms = r) };
}

describe('OwnRooms: the rooms of a user for sync', () => {
  it('serves from the cache up to the contiguous positions heard, and reads beyond them', async () => {
    const s = standIns();
    const own = new OwnRooms(s.db, s.notifier, new HeardEvents(s.db, s.notifier, 10, 100), 100);
    await own.of('@u', 10);
    await own.of('@u', 10);
    assert.equal(s.reads(), 1, 'the second answer came from the cache');
    // Position 12 is heard (a local commit) before 11 (another process's NOTIFY, late).
    s.hear({ position: 12 });
    await own.of('@u', 12);
    assert.equal(s.reads(), 2, 'beyond the frontier (10): read, since 11 may be a membership change not heard yet');
    s.hear({ position: 11, type: 'm.room.member', stateKey: '@u', membership: 'join' });
    s.setRooms([{ room_id: '!a', membership: 'join', stream_ordering: 1 }, { room_id: '!b', membership: 'join', stream_ordering: 11 }]);
    const rooms = await own.of('@u', 12);
    assert.deepEqual(rooms.map((r) => r.room_id), ['!a', '!b'], 'the membership heard at 11 dropped the entry');
    await own.of('@u', 12);
    assert.equal(s.reads(), 3, 'and then the new entry is served');
  });

  it('after a gap in notifications it reads until the frontier is known again', async () => {
    const s = standIns();
    const heard = new HeardEvents(s.db, s.notifier, 5, 100);
    const own = new OwnRooms(s.db, s.notifier, heard, 100);
    const listening = (on: boolean) => {
      heard.listening(on);
      own.listening(on);
    };
    await own.of('@u', 5);
    listening(false);
    await own.of('@u', 5);
    assert.equal(s.reads(), 2, 'deaf: no cache');
    listening(true);
    const first = own.of('@u', 5); // before the committed position is known
    await first;
    assert.equal(s.reads(), 3, 'back, but the frontier is not known yet');
    await new Promise((r) => setImmediate(r));
    await own.of('@u', 5);
    await own.of('@u', 5);
    assert.equal(s.reads(), 4, 'known again (5): cached from then on');
  });
});
