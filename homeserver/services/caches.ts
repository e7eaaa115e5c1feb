/**
 * In-memory caches of what hot paths read on every request (a token's session, a user's push
 * rules, who blocked a user), kept correct across server processes that share one database.
 *
 * Every entry belongs to a group (a user id). A write that changes what a group's entries
 * hold calls `CacheBus.invalidate` in its transaction: that sends a database notification,
 * which every process (this one included) receives after the commit and answers by dropping
 * the group; this process also drops it at once. A read that raced with a drop is not cached
 * (the generation mark), and while the notification connection is down nothing is cached,
 * since nothing could tell us of changes.
 */
import { LRUCache } from 'lru-cache';
import type { Queryable } from '../storage/database.ts';
import { notify, type Subscription } from '../storage/notifications.ts';

export const CACHES_CHANNEL = 'whisper_caches';

interface Entry<V> {
  value: V;
  group: string;
}

export class InvalidatedCache<V> {
  readonly name: string;
  /** Undefined when the cache is sized 0 (caching off). */
  private readonly entries: LRUCache<string, Entry<V>> | undefined;
  private readonly byGroup = new Map<string, Set<string>>();
  private generation = 0;
  private enabled = true;

  constructor(name: string, max: number) {
    this.name = name;
    this.entries = max < 1 ? undefined : new LRUCache<string, Entry<V>>({
      max,
      // Evicted or replaced: the group index forgets the key (a replacement re-adds it).
      dispose: (entry, key) => this.unindex(entry.group, key),
    });
  }

  get(key: string): V | undefined {
    return this.enabled ? this.entries?.get(key)?.value : undefined;
  }

  /** Taken before a database read; the result is cached only if nothing was dropped since. */
  mark(): number {
    return this.generation;
  }

  set(key: string, value: V, mark: number, group = key): void {
    if (!this.entries || !this.enabled || mark !== this.generation) return;
    this.entries.set(key, { value, group });
    let keys = this.byGroup.get(group);
    if (!keys) this.byGroup.set(group, (keys = new Set()));
    keys.add(key);
  }

  /** The cached value, or `load`'s (cached unless the group changed meanwhile). */
  async read(key: string, load: () => Promise<V>, group = key): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const mark = this.mark();
    const value = await load();
    this.set(key, value, mark, group);
    return value;
  }

  invalidateGroup(group: string): void {
    this.generation++;
    const keys = this.byGroup.get(group);
    if (!keys) return;
    this.byGroup.delete(group);
    for (const key of keys) this.entries?.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries?.clear();
    this.byGroup.clear();
  }

  /** Notifications may be missed from now: forget everything and stop caching. */
  disable(): void {
    this.enabled = false;
    this.clear();
  }

  /** Listening again (what was sent meanwhile is lost): start afresh. */
  enable(): void {
    this.clear();
    this.enabled = true;
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  private unindex(group: string, key: string): void {
    const keys = this.byGroup.get(group);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byGroup.delete(group);
  }
}

/** Routes invalidations between processes: one channel, `<cache name>\n<group>` payloads. */
export class CacheBus {
  private readonly caches = new Map<string, InvalidatedCache<unknown>>();

  register<V>(cache: InvalidatedCache<V>): InvalidatedCache<V> {
    this.caches.set(cache.name, cache as InvalidatedCache<unknown>);
    return cache;
  }

  /** Drops `group` from `cache` in every process once `q` commits, and in this one now. */
  async invalidate<V>(q: Queryable, cache: InvalidatedCache<V>, group: string): Promise<void> {
    await notify(q, CACHES_CHANNEL, `${cache.name}\n${group}`);
    cache.invalidateGroup(group);
  }

  /** What the database's notification listener calls (main.ts subscribes it). */
  subscription(): Subscription {
    return {
      onMessage: (payload) => {
        const cut = payload.indexOf('\n');
        if (cut > 0) this.caches.get(payload.slice(0, cut))?.invalidateGroup(payload.slice(cut + 1));
      },
      onGap: (listening) => {
        for (const cache of this.caches.values()) {
          if (listening) cache.enable();
          else cache.disable();
        }
      },
    };
  }
}
