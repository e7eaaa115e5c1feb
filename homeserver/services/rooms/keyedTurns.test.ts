import assert from 'node:assert/strict';
import { KeyedTurns } from './keyedTurns.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedTurns', () => {
  it('runs calls with one key one after another, in the order they came, and other keys meanwhile', async () => {
    const turns = new KeyedTurns();
    const log: string[] = [];
    const job = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([turns.run('r', job('a1', 20)), turns.run('r', job('a2', 1)), turns.run('s', job('b1', 5))]);
    assert.deepEqual(results, ['a1', 'a2', 'b1']);
    assert.deepEqual(log, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
  });

  it('goes on with the next call after one fails, which gets its own error', async () => {
    const turns = new KeyedTurns();
    const failed = turns.run('r', async () => {
      await tick();
      throw new Error('boom');
    });
    const next = turns.run('r', async () => 'next');
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'next');
  });

  it('forgets a key once its last call settled', async () => {
    const turns = new KeyedTurns();
    await Promise.all([turns.run('r', async () => 1), turns.run('r', async () => 2)]);
    await tick();
    assert.equal(turns.size, 0);
  });
});
