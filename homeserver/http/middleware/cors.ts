/** CORS as the spec asks (any origin may call the client API), and OPTIONS answered for every path. */
import type { Ctx, Next } from '../types.ts';

export async function corsMiddleware(ctx: Ctx, next: Next): Promise<void> {
  ctx.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization, X-Request-Id',
    'Access-Control-Expose-Headers': 'Retry-After, X-Request-Id',
  });
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    return;
  }
  await next();
}
