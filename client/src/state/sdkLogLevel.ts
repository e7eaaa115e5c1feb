/**
 * Quiets matrix-js-sdk's logging below a level (warn in the browser, silent in tests, or
 * MATRIX_SDK_LOG). The sdk sets each of its loggers to DEBUG when it makes it, so levels do not
 * last; a filtering method factory does, as child loggers copy their parent's factory.
 * Import this module before anything else that imports the sdk.
 */
import loglevel from 'loglevel';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';

const RANK: Record<string, number> = { trace: 0, debug: 1, log: 1, info: 2, warn: 3, error: 4 };
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
const wanted = env?.MATRIX_SDK_LOG ?? (typeof window === 'undefined' ? 'silent' : 'warn');
const threshold = wanted === 'silent' ? 5 : RANK[wanted] ?? 3;

type Factory = loglevel.MethodFactory;
const root = sdkLogger as unknown as loglevel.Logger;
const sdkFactory: Factory = root.methodFactory;
const filtered: Factory = (methodName, level, loggerName) =>
  (RANK[methodName] ?? 1) < threshold ? () => {} : sdkFactory(methodName, level, loggerName);

loglevel.methodFactory = filtered;
for (const [name, logger] of Object.entries(loglevel.getLoggers())) {
  if (!name.startsWith('matrix')) continue;
  logger.methodFactory = filtered;
  logger.rebuild();
}
root.methodFactory = filtered;
root.rebuild();
