/**
 * Work that takes turns per key: `run(key, fn)` starts `fn` once every earlier call with the
 * same key has settled, while other keys go on meanwhile. The persister uses it per room, so
 * a room's events in this process are worked out and stored one after another.
 */
export class KeyedTurns {
  /** The last call queued per key, while any is pending. */
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    const result = before ? before.then(fn, fn) : fn();
    // The next call waits for this one whatever its outcome; the last one clears the key.
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with work pending (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
