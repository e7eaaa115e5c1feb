/**
 * The audit log of account activity. Acts record their entry through `record` inside their
 * own transaction, so an entry exists exactly when its act happened. Owners read their own
 * entries, admins everyone's; exports page through the table so memory stays flat however
 * long the log is.
 */
import type { Config } from '../config.ts';
import type { Db, Queryable } from '../storage/database.ts';
import * as audit from '../storage/audit.ts';
import type { Seen } from './sessions.ts';

export type AuditRow = audit.AuditRow;
export type AuditFilter = audit.AuditFilter;

/** Where an act came from and who did it (absent: the account itself). */
export interface AuditSource extends Partial<Seen> {
  deviceId?: string | null;
  actor?: string | null;
}

/** An admin act from the command line has no user behind it. */
export const ADMIN_CLI: AuditSource = { actor: 'admin-cli' };

export const AUDIT_PAGE_MAX = 1000;
const EXPORT_PAGE = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export class AuditService {
  private readonly db: Db;
  private readonly config: Config;

  constructor(db: Db, config: Config) {
    this.db = db;
    this.config = config;
  }

  /** Appends an entry as part of `q` (the act's own transaction). */
  async record(q: Queryable, userId: string | null, kind: string, source: AuditSource, details: Record<string, unknown> = {}): Promise<void> {
    await audit.insertAudit(q, {
      user_id: userId,
      kind,
      ts: Date.now(),
      actor: source.actor ?? null,
      ip: source.ip ?? null,
      user_agent: source.userAgent ?? null,
      device_id: source.deviceId ?? null,
      details,
    });
  }

  /** One page, newest first; `next` continues below the last entry given. */
  async page(filter: AuditFilter, limit: number): Promise<{ entries: AuditRow[]; next?: number }> {
    const entries = await audit.listAudit(this.db, filter, limit + 1);
    if (entries.length <= limit) return { entries };
    entries.pop();
    return { entries, next: entries[entries.length - 1].id };
  }

  /** Every matching entry, newest first, read a page at a time as the consumer pulls. */
  async *all(filter: AuditFilter): AsyncGenerator<AuditRow> {
    let beforeId = filter.beforeId;
    for (;;) {
      const rows = await audit.listAudit(this.db, { ...filter, beforeId }, EXPORT_PAGE);
      yield* rows;
      if (rows.length < EXPORT_PAGE) return;
      beforeId = rows[rows.length - 1].id;
    }
  }

  /** The retention sweep (housekeeping): entries older than the configured days go. */
  async prune(now = Date.now()): Promise<number> {
    if (this.config.auditRetentionDays === 0) return 0;
    return audit.deleteAuditBefore(this.db, now - this.config.auditRetentionDays * DAY_MS);
  }
}
