/**
 * Whisper: the audit log. `/_whisper/client/v1/audit` reads the requester's own entries;
 * `/_whisper/admin/v1/audit` (admins) reads everyone's or one user's. Both page newest first
 * and export everything that matches as JSON or CSV, streamed as the client reads.
 */
import { pipeline, Readable } from 'node:stream';
import contentDisposition from 'content-disposition';
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { errors } from '../errors.ts';
import type { Ctx } from '../http/types.ts';
import { AUDIT_PAGE_MAX, type AuditFilter, type AuditRow } from '../services/audit.ts';
import type { Services } from '../services/index.ts';
import { parseQuery } from './validate.ts';

const int = z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer').transform(Number);
const filterQuery = z.object({
  kind: z.string().max(1000).regex(/^[a-z0-9_.,]+$/, 'kinds are comma-separated, like login,login.failed').optional(),
  from_ts: int.optional(),
  to_ts: int.optional(),
  from: int.optional(),
  limit: int.pipe(z.number().int().min(1).max(AUDIT_PAGE_MAX)).optional(),
  format: z.enum(['json', 'csv']).optional(),
  user_id: z.string().max(255).optional(),
});

const CSV_COLUMNS = ['id', 'time', 'kind', 'user_id', 'actor', 'ip', 'user_agent', 'device_id', 'details'];

function entryJson(r: AuditRow) {
  return { id: String(r.id), ts: r.ts, kind: r.kind, user_id: r.user_id, actor: r.actor, ip: r.ip, user_agent: r.user_agent, device_id: r.device_id, details: r.details };
}

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) gets a leading quote: user
 * agents and typed user names are attacker-chosen text.
 */
function cell(value: string | null): string {
  if (value === null) return '';
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvRow(r: AuditRow): string[] {
  return [String(r.id), new Date(r.ts).toISOString(), r.kind, r.user_id, r.actor, r.ip, r.user_agent, r.device_id, JSON.stringify(r.details)].map((v) => cell(v));
}

async function* jsonArray(rows: AsyncIterable<AuditRow>): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const r of rows) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(entryJson(r))}`;
    first = false;
  }
  yield '\n]\n';
}

export function auditHandlers(s: Services) {
  function filterFrom(ctx: Ctx, admin: boolean): { filter: AuditFilter; limit: number; format: 'json' | 'csv' } {
    const q = parseQuery(filterQuery, ctx.query);
    if (q.user_id !== undefined && !admin) throw errors.invalidParam('user_id is for admins; this log is your own.');
    const filter: AuditFilter = {
      userId: admin ? q.user_id : ctx.state.requester!.userId,
      kinds: q.kind?.split(',').filter(Boolean),
      fromTs: q.from_ts,
      toTs: q.to_ts,
      beforeId: q.from,
    };
    return { filter, limit: q.limit ?? 100, format: q.format ?? 'json' };
  }

  function requireAdmin(ctx: Ctx): void {
    if (!ctx.state.requester!.isAdmin) throw errors.forbidden('Only server admins can read the whole audit log.');
  }

  async function page(ctx: Ctx, admin: boolean): Promise<void> {
    const { filter, limit } = filterFrom(ctx, admin);
    const { entries, next } = await s.audit.page(filter, limit);
    ctx.body = { entries: entries.map(entryJson), ...(next !== undefined ? { next_batch: String(next) } : {}) };
  }

  function exportAll(ctx: Ctx, admin: boolean): void {
    const { filter, format } = filterFrom(ctx, admin);
    const rows = s.audit.all(filter);
    const name = `whisper-audit-${new Date().toISOString().slice(0, 10)}.${format}`;
    ctx.set('Content-Disposition', contentDisposition(name));
    ctx.set('Cache-Control', 'no-store');
    if (format === 'json') {
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = Readable.from(jsonArray(rows));
      return;
    }
    ctx.type = 'text/csv; charset=utf-8';
    const csv = stringify({ header: true, columns: CSV_COLUMNS });
    const source = Readable.from((async function* () {
      for await (const r of rows) yield csvRow(r);
    })(), { objectMode: true });
    // pipeline, not pipe: a failed read ends the download instead of leaving it hanging.
    pipeline(source, csv, () => {});
    ctx.body = csv;
  }

  return {
    ownPage: (ctx: Ctx) => page(ctx, false),
    ownExport: (ctx: Ctx) => exportAll(ctx, false),
    async adminPage(ctx: Ctx) {
      requireAdmin(ctx);
      await page(ctx, true);
    },
    adminExport(ctx: Ctx) {
      requireAdmin(ctx);
      exportAll(ctx, true);
    },
  };
}
