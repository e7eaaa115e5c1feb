/**
 * Rate limits for the acts worth guessing at (login, register, refresh, password change),
 * per IP and per account. In memory for the embedded database (one process); in PostgreSQL
 * when several processes share one, so the limit holds across them.
 */
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Knex } from 'knex';
import type { Config } from '../config.ts';
import { errors } from '../errors.ts';

export type RateLimitKind = keyof Config['rateLimits'];

export class RateLimits {
  private readonly limiters = new Map<RateLimitKind, RateLimiterAbstract>();

  private constructor() {}

  static create(config: Config['rateLimits'], shared: Knex | undefined): RateLimits {
    const self = new RateLimits();
    for (const [kind, { points, durationSec }] of Object.entries(config) as Array<[RateLimitKind, { points: number; durationSec: number }]>) {
      const opts = { keyPrefix: `whisper_${kind}`, points, duration: durationSec };
      if (shared) {
        // The table comes from the migrations; expired rows go in housekeeping.
        self.limiters.set(kind, new RateLimiterPostgres({
          ...opts, storeClient: shared, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout: false,
        }));
      } else {
        self.limiters.set(kind, new RateLimiterMemory(opts));
      }
    }
    return self;
  }

  /** Counts one attempt; throws M_LIMIT_EXCEEDED once the budget for this key is spent. */
  async consume(kind: RateLimitKind, key: string): Promise<void> {
    try {
      await this.limiters.get(kind)!.consume(key);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw errors.limitExceeded(res.msBeforeNext);
      throw res;
    }
  }

  /** Drops expired counters (PostgreSQL store only; memory expires by itself). */
  async clearExpired(): Promise<void> {
    const any = this.limiters.values().next().value;
    // clearExpired is public in the library but missing from its type declarations.
    if (any instanceof RateLimiterPostgres) {
      await (any as unknown as { clearExpired(before: number): Promise<void> }).clearExpired(Date.now());
    }
  }

  /** A success that should not count against the key (e.g. a correct password). */
  async reward(kind: RateLimitKind, key: string): Promise<void> {
    await this.limiters.get(kind)!.reward(key, 1);
  }
}
