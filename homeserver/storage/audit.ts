/** Audit log rows: appended, read newest first by keyset, deleted only by age. */
import type { Queryable } from './database.ts';
import { affectedRows, jsonColumn } from './results.ts';

export interface AuditEntry {
  user_id: string | null;
  kind: string;
  ts: number;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  device_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditRow extends AuditEntry {
  id: number;
}

export interface AuditFilter {
  /** One account's entries; absent: everyone's (admins). */
  userId?: string;
  kinds?: string[];
  fromTs?: number;
  toTs?: number;
  /** Keyset cursor: only entries older than this id. */
  beforeId?: number;
}

const toRow = (r: AuditRow): AuditRow => ({ ...r, id: Number(r.id), ts: Number(r.ts), details: jsonColumn(r.details) });

export async function insertAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q('audit_log').insert({ ...entry, details: JSON.stringify(entry.details) });
}

/** Newest first, at most `limit`. */
export async function listAudit(q: Queryable, filter: AuditFilter, limit: number): Promise<AuditRow[]> {
  const query = q<AuditRow>('audit_log').orderBy('id', 'desc').limit(limit);
  if (filter.userId !== undefined) query.where('user_id', filter.userId);
  if (filter.kinds && filter.kinds.length > 0) query.whereIn('kind', filter.kinds);
  if (filter.fromTs !== undefined) query.where('ts', '>=', filter.fromTs);
  if (filter.toTs !== undefined) query.where('ts', '<=', filter.toTs);
  if (filter.beforeId !== undefined) query.where('id', '<', filter.beforeId);
  return (await query).map(toRow);
}

/** The retention sweep; returns how many rows went. */
export async function deleteAuditBefore(q: Queryable, ts: number): Promise<number> {
  return affectedRows(await q('audit_log').where('ts', '<', ts).delete());
}
