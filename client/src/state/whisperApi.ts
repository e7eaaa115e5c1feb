/** Calls to Whisper's own API (/_whisper/client/v1) through the sdk's authenticated HTTP layer. */
import { Method, type MatrixClient } from 'matrix-js-sdk';

export const WHISPER_PREFIX = '/_whisper/client/v1';

export function whisperRequest<T>(client: MatrixClient, method: Method, path: string, body?: unknown, query?: Record<string, string>): Promise<T> {
  return client.http.authedRequest<T>(method, path, query, body as any, { prefix: WHISPER_PREFIX });
}

export { Method };
