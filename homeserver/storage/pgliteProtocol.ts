/**
 * The messages between the server and its PGlite child process (pgliteProcess.ts and
 * pgliteChild.ts), sent over Node's IPC channel with the structured-clone serialization, so
 * dates, bigints and byte arrays cross as they are.
 */
import type { Results } from '@electric-sql/pglite';

export interface QueryRequest {
  kind: 'query';
  id: number;
  /** Which of the parent's pooled sessions sent it (see pgliteChild.ts). */
  session: number;
  sql: string;
  params: unknown[];
  options?: Record<string, unknown>;
}

export type PgliteRequest =
  /** `loadDump`: an in-memory database starts as a copy of this dump file (see dumpTo). */
  | { kind: 'open'; dataDir: string | undefined; startParams: string[]; loadDump?: string }
  | QueryRequest
  /** Writes the database's files to `file` (a tar PGlite can start from); answered by a result. */
  | { kind: 'dump'; id: number; file: string }
  | { kind: 'listen'; id: number; channel: string }
  | { kind: 'endSession'; session: number }
  | { kind: 'close' };

/** What an error carries across: the message and PostgreSQL's fields (code, constraint, ...). */
export type ErrorFields = { message: string } & Record<string, unknown>;

export type PgliteReply =
  | { kind: 'ready' }
  | { kind: 'failed'; error: ErrorFields }
  | { kind: 'result'; id: number; result: Pick<Results<Record<string, unknown>>, 'rows' | 'fields' | 'affectedRows'> }
  | { kind: 'error'; id: number; error: ErrorFields }
  /** Notifications, as [channel, payload], in the order they were delivered. */
  | { kind: 'notifications'; list: Array<[string, string]> }
  | { kind: 'closed' };

/** The fields of a thrown error (PGlite's DatabaseError has code, detail, constraint, ...). */
export function errorFields(err: unknown): ErrorFields {
  if (!(err instanceof Error)) return { message: String(err) };
  const fields: ErrorFields = { message: err.message };
  for (const [k, v] of Object.entries(err)) {
    if (v === undefined || typeof v === 'function' || (typeof v === 'object' && v !== null)) continue;
    fields[k] = v;
  }
  return fields;
}

/** An error thrown again on this side of the channel, with the fields it carried. */
export function errorFrom(fields: ErrorFields): Error {
  return Object.assign(new Error(fields.message), fields);
}
