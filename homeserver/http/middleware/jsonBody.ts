/**
 * Reads a request body (up to the configured limit) and parses it as JSON. Matrix bodies are
 * JSON objects whatever the Content-Type says, since many clients omit or misstate it. Paths
 * for which `takesRawBody` holds (media uploads) are left unread for their handler to stream;
 * paths for which `takesFormBody` holds (the login page) take an HTML form's urlencoded body.
 */
import getRawBody from 'raw-body';
import { errors } from '../../errors.ts';
import type { Ctx, Next } from '../types.ts';

export function jsonBodyMiddleware(
  limitBytes: number,
  takesRawBody: (path: string) => boolean = () => false,
  takesFormBody: (path: string) => boolean = () => false,
) {
  return async function parseJsonBody(ctx: Ctx, next: Next): Promise<void> {
    ctx.state.body = {};
    if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS') return next();
    if (takesRawBody(ctx.path)) return next();
    const declared = Number(ctx.get('Content-Length') || 0);
    if (declared > limitBytes) throw errors.tooLarge();
    const raw = await getRawBody(ctx.req, { limit: limitBytes, encoding: 'utf8' });
    if (takesFormBody(ctx.path) && ctx.is('application/x-www-form-urlencoded')) {
      ctx.state.body = Object.fromEntries(new URLSearchParams(raw));
      return next();
    }
    if (raw.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw errors.notJson();
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw errors.badJson('The request body must be a JSON object.');
      }
      ctx.state.body = parsed;
    }
    await next();
  };
}
