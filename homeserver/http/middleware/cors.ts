/** CORS as the spec asks (any origin may call the client API), and OPTIONS answered for every path. */
import type { Ctx, Next } from '../types.ts';

// Not async, and next() is returned rather than awaited: a middleware with nothing to do after
// the handler then holds no suspended frame while a long-poll waits (a thousand held polls'
// frames are what each young-generation GC copies).
export function corsMiddleware(ctx: Ctx, next: Next): Promise<void> {
  ctx.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization, X-Request-Id',
    'Access-Control-Expose-Headers': 'Retry-After, X-Request-Id',
  });
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    return Promise.resolve();
  }
  return next();
}
