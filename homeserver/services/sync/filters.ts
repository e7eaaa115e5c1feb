/** Stored sync filters (POST/GET /user/{userId}/filter) and resolving a /sync filter param. */
import { errors } from '../../errors.ts';
import type { Db } from '../../storage/database.ts';
import * as store from '../../storage/filters.ts';
import { filterSchema, type Filter } from './filter.ts';

/** Stored filters never change, and clients send the same id with every /sync. */
const CACHE_SIZE = 10_000;

export class FilterService {
  private readonly db: Db;
  private readonly cache = new Map<string, Filter>();

  constructor(db: Db) {
    this.db = db;
  }

  validate(value: unknown): Filter {
    const parsed = filterSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw errors.badJson(`Invalid filter at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return parsed.data;
  }

  async create(userId: string, value: unknown): Promise<string> {
    return store.insertFilter(this.db, userId, this.validate(value));
  }

  async get(userId: string, filterId: string): Promise<Filter> {
    const key = `${userId}\u0000${filterId}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const f = await store.getFilter(this.db, userId, filterId);
    if (!f) throw errors.notFound('No such filter.');
    if (this.cache.size >= CACHE_SIZE) this.cache.clear();
    this.cache.set(key, f as Filter);
    return f as Filter;
  }

  /** /sync's `filter`: inline JSON (starts with "{") or a stored filter's id. */
  async resolve(userId: string, param: string | undefined): Promise<Filter> {
    if (param === undefined || param === '') return {};
    if (param.trimStart().startsWith('{')) {
      let value: unknown;
      try {
        value = JSON.parse(param);
      } catch {
        throw errors.invalidParam('filter is not valid JSON.');
      }
      const parsed = filterSchema.safeParse(value);
      if (!parsed.success) throw errors.invalidParam(`Invalid filter: ${parsed.error.issues[0].message}`);
      return parsed.data;
    }
    return this.get(userId, param);
  }
}
