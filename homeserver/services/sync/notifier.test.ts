/**
 * The notifier's wakes, with a stand-in database (nobody shares a room): a presence change
 * wakes its few watchers at once but a crowd's over a spread, and anything else wakes at once.
 */
import assert from 'node:assert/strict';
import type { Db } from '../../storage/database.ts';
import { Notifier, type Notice } from './notifier.ts';
import { zeroToken } from './tokens.ts';

/** Answers every query with no rows. */
function emptyDb(): Db {
  const query: Record<string, unknown> = {};
  for (const m of ['where', 'whereIn', 'andWhere']) query[m] = () => query;
  query.select = () => Promise.resolve([]);
  return (() => query) as unknown as Db;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Notifier: presence wakes', () => {
  it('wakes one watcher of a presence change at once', async () => {
    const notifier = new Notifier(emptyDb(), {});
    const started = performance.now();
    const woke = notifier.waitForUser('@a', zeroToken(), 10_000);
    await notifier.onChanges([{ stream: 'presence', position: 1, userId: '@a' }]);
    await woke;
    assert.ok(performance.now() - started < 100);
  });

  it("spreads a crowd's presence wakes, while anything else still wakes at once", async () => {
    const notifier = new Notifier(emptyDb(), {});
    const users = Array.from({ length: 400 }, (_, i) => `@u${i}`);
    const woken = new Map<string, number>();
    const started = performance.now();
    const waits = users.map((u) => notifier.waitForUser(u, zeroToken(), 10_000).then(() => woken.set(u, performance.now() - started)));
    const notices: Notice[] = users.map((userId) => ({ stream: 'presence', position: 1, userId }));
    await notifier.onChanges(notices);
    await sleep(30);
    assert.ok(woken.size < users.length / 2, `at most half at once (${woken.size})`);
    // A message for the last one (here: their account data) does not wait for the spread.
    const last = users.at(-1)!;
    if (!woken.has(last)) {
      await notifier.onChanges([{ stream: 'account_data', position: 1, userId: last }]);
      await sleep(5);
      assert.ok(woken.has(last), 'woken at once by something else');
    }
    await Promise.all(waits);
    const times = [...woken.values()];
    assert.ok(Math.max(...times) < 2500, `all within the spread (${Math.max(...times)} ms)`);
  });
});
