/**
 * One JSON log line per request: method, route pattern, status, duration, request id.
 * The route pattern stands in for the URL because query strings can carry access tokens.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logging.ts';
import type { Ctx, Next } from '../types.ts';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLogMiddleware(logger: Logger) {
  return async function logRequest(ctx: Ctx, next: Next): Promise<void> {
    const started = performance.now();
    const offered = ctx.get('X-Request-Id');
    ctx.state.requestId = CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
    } finally {
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : '(unmatched)';
      logger.info(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          route,
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 100) / 100,
          user: ctx.state.requester?.userId,
        },
        'request',
      );
    }
  };
}
