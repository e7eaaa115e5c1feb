/**
 * The pino logger: JSON lines, pretty-printed when stdout is a terminal. Secrets never reach
 * a log line: request logs carry the route pattern (never the URL, which may hold
 * ?access_token=), and the redact list catches the fields that could leak if logged by mistake.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

const REDACT = [
  'password',
  'new_password',
  'access_token',
  'refresh_token',
  'token',
  '*.password',
  '*.new_password',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  'req.headers.authorization',
  'headers.authorization',
];

export function createLogger(
  level: string,
  destination?: DestinationStream,
  pretty = process.stdout.isTTY === true,
): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: undefined };
  if (destination) return pino(options, destination);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}
