/**
 * Fetches a web page or image for a URL preview, and nothing the server should not reach:
 * every connection (the first and each redirect) goes through request-filtering-agent, which
 * checks the address DNS actually gave, so a name that resolves to a private or reserved
 * address (or changes to one between lookups) is refused at connect time.
 */
import http from 'node:http';
import https from 'node:https';
import { useAgent } from 'request-filtering-agent';
import { MatrixError } from '../../errors.ts';

export interface FetchedResource {
  /** Where the bytes came from after redirects (relative links resolve against it). */
  url: URL;
  /** Lower-cased media type without parameters, e.g. `text/html`. */
  mediaType: string;
  charset: string | undefined;
  body: Buffer;
  /** The body was cut at the byte limit (fine for a page's <head>, not for an image). */
  truncated: boolean;
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Private addresses that may be reached all the same (IPs or CIDRs). */
  allowedIps: string[];
}

const USER_AGENT = 'Whisper URL preview (Matrix homeserver)';

export function previewableUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'url is not a valid absolute URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'Only http and https URLs can be previewed.');
  }
  if (url.username || url.password) throw new MatrixError(400, 'M_INVALID_PARAM', 'URLs with credentials are not previewed.');
  url.hash = '';
  return url;
}

export async function fetchResource(start: URL, limits: FetchLimits, accept: string): Promise<FetchedResource> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let url = start;
  for (let hop = 0; ; hop++) {
    const res = await get(url, limits, accept, signal);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= limits.maxRedirects) throw unreachable('too many redirects');
      url = previewableUrl(new URL(res.headers.location, url).href);
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw unreachable(`it answered HTTP ${status}`);
    }
    const [mediaType, ...params] = (res.headers['content-type'] ?? 'application/octet-stream').split(';');
    const charset = params.map((p) => p.trim().split('=')).find(([k]) => k.toLowerCase() === 'charset')?.[1]?.replace(/"/g, '');
    const { body, truncated } = await readUpTo(res, limits.maxBytes, signal);
    return { url, mediaType: mediaType.trim().toLowerCase(), charset, body, truncated };
  }
}

function get(url: URL, limits: FetchLimits, accept: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const agent = useAgent(url.href, { allowIPAddressList: limits.allowedIps, keepAlive: false });
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, signal, headers: { 'User-Agent': USER_AGENT, Accept: accept } }, resolve);
    req.once('error', (err: Error) => reject(describe(err, signal)));
    req.end();
  });
}

async function readUpTo(res: http.IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      const piece = chunk as Buffer;
      if (size + piece.length > maxBytes) {
        chunks.push(piece.subarray(0, maxBytes - size));
        res.destroy();
        return { body: Buffer.concat(chunks), truncated: true };
      }
      chunks.push(piece);
      size += piece.length;
    }
  } catch (err) {
    throw describe(err as Error, signal);
  }
  return { body: Buffer.concat(chunks), truncated: false };
}

function describe(err: Error, signal: AbortSignal): MatrixError {
  if (signal.aborted) return unreachable('it took too long to answer');
  // request-filtering-agent's refusal: say so plainly (it is the operator's setting, not a fault).
  if (/is not allowed/.test(err.message)) {
    return new MatrixError(403, 'M_FORBIDDEN', 'URL previews do not reach private or reserved addresses.');
  }
  return unreachable((err as NodeJS.ErrnoException).code ?? 'the connection failed');
}

function unreachable(why: string): MatrixError {
  return new MatrixError(502, 'M_UNKNOWN', `Could not fetch the URL: ${why}.`);
}
