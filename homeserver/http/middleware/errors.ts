/**
 * The one place that writes error bodies: a MatrixError becomes its JSON; a Koa/http error
 * from a library (body too large, aborted request) is mapped to its Matrix code; anything
 * else is a 500 M_UNKNOWN whose detail goes only to the log.
 */
import type { Logger } from '../../logging.ts';
import { errors, MatrixError } from '../../errors.ts';
import type { Ctx, Next } from '../types.ts';

function fromHttpError(err: { status?: number; expose?: boolean; type?: string; message?: string }): MatrixError | undefined {
  switch (err.status) {
    case 413:
      return errors.tooLarge();
    case 400:
      return errors.notJson(err.type === 'request.aborted' ? 'Request aborted.' : 'Malformed request body.');
    case 415:
      return new MatrixError(415, 'M_UNKNOWN', 'Unsupported content encoding.');
    default:
      return undefined;
  }
}

export function errorMiddleware(logger: Logger) {
  return async function renderErrors(ctx: Ctx, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) throw errors.unrecognized(404);
    } catch (err) {
      let matrixError: MatrixError;
      if (err instanceof MatrixError) {
        matrixError = err;
      } else {
        matrixError = fromHttpError(err as Record<string, never>) ?? errors.unknown();
        if (matrixError.status >= 500) {
          logger.error({ err, requestId: ctx.state.requestId, route: ctx._matchedRoute }, 'unhandled error');
        }
      }
      ctx.status = matrixError.status;
      ctx.set(matrixError.headers);
      ctx.body = matrixError.toJSON();
    }
  };
}
