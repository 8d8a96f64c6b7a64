/**
 * The API's log: one line per request, with what it takes to follow a request and nothing a
 * reader could misuse. A request line keeps the method, the URL (less a codec token, a customer
 * id and search text: `urlForLog`), the status, the time taken, the request id and the caller's
 * address and user agent; no other header, of the request or the response, is logged, and
 * `redact` is the net under that for anything else that would carry a credential. JSON lines (pino) for machines; readable lines
 * (pino-pretty) for a person at a terminal. Health checks and metric scrapes, polled all day long,
 * are logged at debug.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { withoutCodecToken } from './codec-server';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-signature"]',
  'req.headers["idempotency-key"]',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-signature"]',
  'headers["idempotency-key"]',
  // What the service signs its own webhooks with (worker/webhook-dispatcher.ts), if one is ever logged.
  'headers["webhook-signature"]',
  'headers["Webhook-Signature"]',
  'authorization',
  'token',
  'secret',
  'PAYLOAD_ENCRYPTION_KEYS',
  'SECRETS_ENCRYPTION_KEYS',
  'AUTH_JWT_SECRET',
];

export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT unset: readable on a terminal, JSON anywhere else (npm start sets it for its children). */
export function createLogger(
  level: string,
  format: LogFormat = process.stdout.isTTY ? 'pretty' : 'json',
  /** Where JSON lines go (a test's sink); default stdout. */
  destination?: pino.DestinationStream,
): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (format === 'json') return destination ? pino(options, destination) : pino(options);
  // The request line's message says it all; the request id trails it, for finding the order's workflow.
  return pino(
    options,
    pretty({
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,req,res,responseTime',
      messageFormat: '{msg}{if req.id}  (request {req.id}){end}',
      singleLine: true,
    }),
  );
}

interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  remoteAddress?: string;
  headers?: Record<string, unknown>;
}

// A customer's id is often an e-mail address, and `q` searches by one: personal data, not for logs.
const PERSONAL_QUERY_KEYS = new Set(['q', 'customerid']);

/** A query key as the query parser reads it: decoded, its `[...]` suffix off, in any case. */
function queryKey(raw: string): string {
  const key = raw.split('=')[0]!.replace(/\+/g, ' ');
  let decoded = key;
  try {
    decoded = decodeURIComponent(key);
  } catch {
    // Not valid percent-encoding: compared as sent.
  }
  return decoded.replace(/\[.*$/, '').toLowerCase();
}

/**
 * A URL as the request log shows it: no codec token (`withoutCodecToken`), and no customer id or
 * search text, in a members path or in the query, whose keys stay so the request is still legible.
 */
export function urlForLog(url: string): string {
  const bare = withoutCodecToken(url);
  const at = bare.search(/[?#]/);
  const path = (at < 0 ? bare : bare.slice(0, at)).replace(/(\/members\/+)[^/]+/gi, '$1[customer]');
  if (at < 0 || bare[at] === '#') return path;
  const query = bare
    .slice(at + 1)
    .split('#')[0]!
    .split('&')
    .map((part) => (PERSONAL_QUERY_KEYS.has(queryKey(part)) ? `${part.split('=')[0]}=[redacted]` : part))
    .join('&');
  return `${path}?${query}`;
}

/** pino-http's `req` serializer: an allow-list. */
export function requestForLog(req: SerializedRequest) {
  return {
    id: req.id,
    method: req.method,
    url: urlForLog(req.url ?? ''),
    remoteAddress: req.remoteAddress,
    userAgent: req.headers?.['user-agent'],
  };
}

/** pino-http's `res` serializer: the status only (its default logs every response header). */
export function responseForLog(res: { statusCode?: number }) {
  return { statusCode: res.statusCode };
}

// app.ts's probes and scrape endpoint.
const HEALTH_CHECKS = new Set(['/healthz', '/readyz', '/metrics']);

/** The URL as the client sent it (a router rewrites `req.url` below its mount point). */
const urlOf = (req: IncomingMessage) =>
  urlForLog((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '');

function requestLogLevel(req: IncomingMessage, res: ServerResponse, err?: Error): Level {
  if (HEALTH_CHECKS.has(urlOf(req).split('?')[0]!)) return 'debug';
  return err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
}

function requestLine(req: IncomingMessage, res: ServerResponse, responseTime?: number): string {
  return `${req.method} ${urlOf(req)} ${res.statusCode}${responseTime === undefined ? '' : ` in ${responseTime}ms`}`;
}

/** pino-http's options besides the logger and the request id: the one line it writes as a response ends. */
export const requestLogOptions = {
  serializers: { req: requestForLog, res: responseForLog },
  customLogLevel: requestLogLevel,
  customSuccessMessage: requestLine,
  // pino-http passes the response time fourth, beyond its typings.
  customErrorMessage: (req: IncomingMessage, res: ServerResponse, _err: Error, responseTime?: number) =>
    requestLine(req, res, responseTime),
  // Its own error for a 5xx ("failed with status code 500", with its stack) tells nothing the line
  // does not; the error middleware logs the real one.
  customErrorObject: (
    _req: IncomingMessage,
    res: ServerResponse,
    _err: Error,
    val: { responseTime: number },
  ) => ({
    res,
    responseTime: val.responseTime,
  }),
};
