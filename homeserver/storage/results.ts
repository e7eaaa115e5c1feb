/** Reading driver results the same way on pg and PGlite (through knex-pglite), which differ. */

/** jsonb columns come back parsed from pg but as text from PGlite. */
export function jsonColumn<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * How many rows an update or delete touched. knex gives a number, except through
 * knex-pglite inside a transaction, where it hands back the raw result ({ rowCount }).
 */
export function affectedRows(result: unknown): number {
  if (typeof result === 'number') return result;
  return Number((result as { rowCount?: number } | null)?.rowCount ?? 0);
}

/** A unique index refused a row (SQLSTATE 23505), from pg or PGlite alike. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
