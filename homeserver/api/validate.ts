/**
 * Input validation at the edge with zod: a body or query that does not fit its schema becomes
 * the Matrix error a client can act on (M_MISSING_PARAM for an absent field, M_BAD_JSON or
 * M_INVALID_PARAM for a wrong one).
 */
import { z } from 'zod';
import { errors } from '../errors.ts';

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v == null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.') || where;
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    throw errors.missingParam(`Missing ${where === 'query' ? 'query parameter' : 'field'}: ${field}`);
  }
  const message = `Invalid ${field}: ${issue.message}`;
  throw where === 'query' ? errors.invalidParam(message) : errors.badJson(message);
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  return parseWith(schema, body, 'body');
}

export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  return parseWith(schema, query, 'query');
}

/** A UIA `auth` object: its stages are checked by the UIA service. */
export const authField = z.record(z.string(), z.unknown()).optional();

/** Query flags arrive as strings: "true"/"false". */
export const queryBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');
