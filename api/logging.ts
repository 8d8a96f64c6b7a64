/**
 * The API's log: JSON lines (pino), one per request, with what it takes to follow a request and
 * nothing a reader could misuse. A request line keeps the method, the URL (less a codec token in
 * its path), the request id and the caller's address; no header is logged but the user agent, and
 * `redact` is the net under that for anything else that would carry a credential.
 */
import pino, { type Logger } from 'pino';
import { withoutCodecToken } from './codec-server';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  'secret',
  'PAYLOAD_ENCRYPTION_KEYS',
  'AUTH_JWT_SECRET',
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  remoteAddress?: string;
  headers?: Record<string, unknown>;
}

/** pino-http's `req` serializer: an allow-list. */
export function requestForLog(req: SerializedRequest) {
  return {
    id: req.id,
    method: req.method,
    url: withoutCodecToken(req.url ?? ''),
    remoteAddress: req.remoteAddress,
    userAgent: req.headers?.['user-agent'],
  };
}
