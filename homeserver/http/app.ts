/** The Koa application: middleware in order, then the route table. */
import Koa from 'koa';
import type { Logger } from '../logging.ts';
import type { Services } from '../services/index.ts';
import { corsMiddleware } from './middleware/cors.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { jsonBodyMiddleware } from './middleware/jsonBody.ts';
import { requestLogMiddleware } from './middleware/requestLog.ts';
import { allowedMethods, buildRouter, takesFormBody, takesRawBody } from './routes.ts';
import { rememberMatches } from './routeMatches.ts';
import type { WhisperState } from './types.ts';

export function createApp(services: Services, logger: Logger): Koa<WhisperState> {
  const app = new Koa<WhisperState>({ proxy: services.config.trustProxy });
  // Errors are rendered by our middleware; Koa's own handler would log to stderr.
  app.silent = true;
  const router = rememberMatches(buildRouter(services));
  app.use(requestLogMiddleware(logger));
  app.use(errorMiddleware(logger));
  app.use(corsMiddleware);
  app.use(jsonBodyMiddleware(services.config.maxBodyBytes, takesRawBody, takesFormBody));
  app.use(router.routes());
  app.use(allowedMethods(router));
  return app;
}
