/** Resolves the access token (Authorization: Bearer, or the deprecated ?access_token=). */
import { errors } from '../../errors.ts';
import type { SessionService } from '../../services/sessions.ts';
import type { Ctx, Next } from '../types.ts';

export function accessTokenOf(ctx: Ctx): string | undefined {
  const header = ctx.get('Authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : undefined;
  }
  const q = ctx.query.access_token;
  return typeof q === 'string' && q !== '' ? q : undefined;
}

/**
 * For the few routes a signed-out client may also call (the password reset by email): a token,
 * when sent, must be good; none is fine.
 */
export function optionalAuth(sessions: SessionService) {
  const required = requireAuth(sessions);
  return async function maybeAuthenticate(ctx: Ctx, next: Next): Promise<void> {
    if (accessTokenOf(ctx) === undefined && !ctx.get('Authorization')) return next();
    await required(ctx, next);
  };
}

export function requireAuth(sessions: SessionService) {
  return async function authenticate(ctx: Ctx, next: Next): Promise<void> {
    const token = accessTokenOf(ctx);
    if (token === undefined) {
      if (ctx.get('Authorization')) throw errors.unknownToken(false);
      throw errors.missingToken();
    }
    ctx.state.requester = await sessions.authenticate(token, { ip: ctx.ip, userAgent: ctx.get('User-Agent') || null });
    // Returned, not awaited: this frame is let go while the handler runs (a long-poll may wait
    // a minute).
    return next();
  };
}
