/**
 * Remembers which routes answer a method and path. @koa/router tries every route's pattern
 * on every request, in order; with the whole client-server API that is a few hundred
 * patterns per request, and a thousand clients long-polling /sync ask the same path over
 * and over. The route table does not change once built, so an exact method and path always
 * match the same routes.
 */
import type { Router } from '@koa/router';
import { LRUCache } from 'lru-cache';

/** Distinct method+path pairs kept: /sync, each room's state and messages, and so on. */
const PATHS_KEPT = 2000;

type MatchResult = ReturnType<Router['match']>;

export function rememberMatches<R extends Router<any>>(router: R): R {
  const match = router.match.bind(router);
  const kept = new LRUCache<string, MatchResult>({ max: PATHS_KEPT });
  router.match = (path: string, method: string) => {
    const key = `${method} ${path}`;
    let found = kept.get(key);
    if (!found) kept.set(key, (found = match(path, method)));
    // Copies: the router appends to the matched list it is handed (nested routers).
    return { ...found, path: [...found.path], pathAndMethod: [...found.pathAndMethod] };
  };
  return router;
}
