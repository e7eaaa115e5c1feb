import assert from 'node:assert/strict';
import { CacheBus, InvalidatedCache } from './caches.ts';

describe('InvalidatedCache and CacheBus', () => {
  it('drops a whole group at once, and nothing else', () => {
    const cache = new InvalidatedCache<string>('tokens', 10);
    cache.set('t1', 'alice session 1', cache.mark(), '@alice');
    cache.set('t2', 'alice session 2', cache.mark(), '@alice');
    cache.set('t3', 'bob session', cache.mark(), '@bob');
    cache.invalidateGroup('@alice');
    assert.equal(cache.get('t1'), undefined);
    assert.equal(cache.get('t2'), undefined);
    assert.equal(cache.get('t3'), 'bob session');
  });

  it('a read that raced with a drop is not cached (it may hold what the change replaced)', async () => {
    const cache = new InvalidatedCache<string>('rules', 10);
    const read = cache.read('@alice', async () => {
      cache.invalidateGroup('@alice'); // a change lands while the database read is in flight
      return 'old rules';
    });
    assert.equal(await read, 'old rules');
    assert.equal(cache.get('@alice'), undefined);
    assert.equal(await cache.read('@alice', async () => 'new rules'), 'new rules');
    assert.equal(cache.get('@alice'), 'new rules');
  });

  it('is bounded (least recently used goes first) and its group index follows evictions', () => {
    const cache = new InvalidatedCache<number>('n', 2);
    cache.set('a', 1, cache.mark(), 'g');
    cache.set('b', 2, cache.mark(), 'g');
    cache.get('a');
    cache.set('c', 3, cache.mark(), 'h');
    assert.equal(cache.get('b'), undefined, 'evicted');
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.size, 2);
    cache.invalidateGroup('g');
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('c'), 3);
  });

  it('sized 0 it caches nothing (WHISPER_CACHE_FACTOR=0)', async () => {
    const cache = new InvalidatedCache<string>('off', 0);
    cache.set('k', 'v', cache.mark());
    assert.equal(cache.get('k'), undefined);
    let loads = 0;
    for (let i = 0; i < 3; i++) await cache.read('k', async () => `v${++loads}`);
    assert.equal(loads, 3);
  });

  it('the bus routes another process\'s notification to the named cache, and stops caching while deaf', () => {
    const bus = new CacheBus();
    const tokens = bus.register(new InvalidatedCache<string>('tokens', 10));
    const rules = bus.register(new InvalidatedCache<string>('push_rules', 10));
    tokens.set('t', 'session', tokens.mark(), '@alice');
    rules.set('@alice', 'rules', rules.mark());
    const sub = bus.subscription();
    sub.onMessage('push_rules\n@alice');
    assert.equal(rules.get('@alice'), undefined);
    assert.equal(tokens.get('t'), 'session', 'other caches keep their entries');
    sub.onMessage('no such cache\n@alice');
    sub.onMessage('garbage');
    sub.onGap(false);
    assert.equal(tokens.get('t'), undefined);
    tokens.set('t', 'session', tokens.mark(), '@alice');
    assert.equal(tokens.get('t'), undefined, 'nothing cached while notifications may be missed');
    sub.onGap(true);
    tokens.set('t', 'session', tokens.mark(), '@alice');
    assert.equal(tokens.get('t'), 'session');
  });
});
