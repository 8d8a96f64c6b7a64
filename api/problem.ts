/**
 * The one error middleware: domain errors, validation errors, Temporal failures and outages
 * become application/problem+json (RFC 9457). Routes contain no try/catch.
 */
import { NameLookupUnavailable } from '../services/webhooks/addresses';
import { SearchAttributesMissing } from './search-attributes';
import {
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { isDatabaseOutage } from '../db/errors';
import { DomainError, FailureType, markedRerunnable } from '../domain/errors';
import { RefusedError } from '../domain/refusals';
import { storable } from '../domain/text';
import { KEY_IN_USE, RERUNNABLE_OUTAGE } from './idempotency';

interface Problem {
  status: number;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
  retryAfter?: number;
}

/** Every status the API answers with a problem: its title, and what it means (the OpenAPI document says it). */
export const STATUSES: Record<number, { title: string; means: string }> = {
  400: {
    title: 'Invalid request',
    means: 'Invalid input (a bad path parameter, query, header or body; `errors` says where)',
  },
  401: { title: 'Unauthorized', means: 'No or bad token' },
  402: { title: 'Payment declined', means: 'Payment declined' },
  403: { title: 'Forbidden', means: 'Not allowed for this role' },
  404: { title: 'Not found', means: 'Not found (or not yours)' },
  405: {
    title: 'Method not allowed',
    means: 'The resource has no such method: `Allow` lists the ones it has',
  },
  409: {
    title: 'Conflict',
    means: 'Not allowed in the current state, or Idempotency-Key reused with another body',
  },
  413: { title: 'Payload too large', means: 'The body is too large' },
  415: { title: 'Unsupported media type', means: 'The body is not JSON, or not in a charset the API reads' },
  422: { title: 'Business rule violated', means: 'A business rule refused it' },
  429: { title: 'Too many requests', means: 'Too many requests (per caller, and per client address)' },
  500: { title: 'Internal error', means: 'Something unexpected failed' },
  503: { title: 'Service unavailable', means: 'A dependency is unreachable; retry after Retry-After' },
};

const titleOf = (status: number): string => STATUSES[status]?.title ?? 'Error';

/**
 * Every 400 lists `errors` (the contract's): the schema's issues, or else one issue in our own
 * words, at the field a workflow named (never a client's string: `detail` is ours).
 */
function withErrors(problem: Problem): Problem {
  if (problem.status !== 400 || problem.extra?.errors !== undefined) return problem;
  const field = problem.extra?.field;
  return {
    ...problem,
    extra: {
      ...problem.extra,
      errors: [
        {
          // As zod writes a path (`items.0.sku` is ['items', 0, 'sku']), each part bounded as there.
          path:
            typeof field === 'string'
              ? field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : storable(p).slice(0, 200)))
              : [],
          message: problem.detail,
          code: 'custom',
        },
      ],
    },
  };
}

export function sendProblem(res: Response, sent: Problem): void {
  const problem = withErrors(sent);
  if (problem.retryAfter) res.setHeader('Retry-After', String(problem.retryAfter));
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: `about:blank#${problem.status}`,
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      ...problem.extra,
    });
}

const UNAVAILABLE =
  'a dependency is unreachable; retry later (with the same Idempotency-Key, or after reading the order)';

/** The HTTP status of each refusal a workflow or the API makes (domain/errors.ts `REFUSAL_TYPES`); any other failure is an outage. */
const STATUS_OF_FAILURE: Record<string, number> = {
  [FailureType.Business]: 422,
  [FailureType.IllegalTransition]: 409,
  [FailureType.Forbidden]: 403,
  [FailureType.PaymentDeclined]: 402,
  [FailureType.InvalidInput]: 400,
  [FailureType.InvalidData]: 400,
};

function fromRefusal(type: string | null | undefined, message: string, details: unknown): Problem {
  const status = STATUS_OF_FAILURE[type ?? ''] ?? 503;
  // A failure of no known type came from below (an outage that outlived its retries): its message is not for clients.
  if (status === 503) return { status, title: titleOf(503), detail: UNAVAILABLE, retryAfter: 5 };
  const { status: orderStatus, ...extra } = (details ?? {}) as Record<string, unknown>;
  return {
    status,
    title: titleOf(status),
    detail: message,
    // `status` is the HTTP status (RFC 9457); the order's own status travels as `orderStatus`.
    extra: orderStatus === undefined ? extra : { orderStatus, ...extra },
  };
}

/**
 * An Update the workflow answered with an outage (a failure that outlived its retries there) after
 * doing nothing a second run would repeat (domain/errors.ts `RERUNNABLE`).
 */
export function rerunnableOutage(err: unknown): boolean {
  return (
    err instanceof WorkflowUpdateFailedError &&
    err.cause instanceof ApplicationFailure &&
    STATUS_OF_FAILURE[err.cause.type ?? ''] === undefined &&
    markedRerunnable(err.cause.details)
  );
}

/**
 * gRPC statuses of a Temporal server that cannot take the call now: deadline exceeded (4), busy
 * (8), not ready (9: an Update refused while the workflow's task keeps failing, as when its worker
 * crashes mid-task), aborted (10), unavailable (14). The client passes some on unwrapped (an
 * update-with-start's); any other status is a fault of ours (a 500).
 */
const TRANSIENT_GRPC: readonly number[] = [4, 8, 9, 10, 14];
const isTransientGrpc = (err: unknown) => {
  const e = err as { code?: unknown; metadata?: unknown } | null;
  return typeof e?.code === 'number' && typeof e.metadata === 'object' && TRANSIENT_GRPC.includes(e.code);
};

/** Errors that mean a dependency is down, not that the request was wrong. */
function isOutage(err: unknown): boolean {
  return (
    err instanceof ServiceError ||
    err instanceof NameLookupUnavailable ||
    isDatabaseOutage(err) ||
    isTransientGrpc(err)
  );
}

export function toProblem(err: unknown): Problem {
  if (err instanceof DomainError)
    return {
      status: err.status,
      title: titleOf(err.status),
      detail: err.message,
      extra: err.extra,
      // Too many at once (exports), busy, or a key whose first request still runs: try again shortly.
      ...(err.status === 429 || err.status === 503 || err.extra?.code === KEY_IN_USE
        ? { retryAfter: 5 }
        : {}),
    };
  if (err instanceof ZodError) {
    return {
      status: 400,
      title: titleOf(400),
      detail: 'the request does not match the schema',
      // A path or message can quote the client (an unknown key): storable, as everything we answer.
      extra: {
        errors: err.issues.map((i) => ({
          path: i.path.map((p) => (typeof p === 'string' ? storable(p).slice(0, 200) : p)),
          message: storable(i.message).slice(0, 500),
          code: i.code,
        })),
      },
    };
  }
  if (err instanceof RefusedError)
    return fromRefusal(err.refusal.type, err.refusal.message, err.refusal.details);
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
    return fromRefusal(err.cause.type, err.cause.message, err.cause.details?.[0]);
  if (err instanceof WorkflowNotFoundError)
    return { status: 404, title: titleOf(404), detail: 'order not found' };
  // Express could not decode a path parameter (`/v1/returns/%ZZ`).
  if (err instanceof URIError)
    return { status: 400, title: titleOf(400), detail: 'the path is not valid percent-encoding' };
  const e = err as { type?: string; status?: number; expose?: boolean };
  // body-parser's own errors: malformed JSON, too large, an unsupported charset or encoding
  if (e?.type === 'entity.parse.failed')
    return { status: 400, title: titleOf(400), detail: 'the body is not valid JSON' };
  if (e?.type === 'entity.too.large')
    return { status: 413, title: titleOf(413), detail: 'the body is too large' };
  if (e?.expose && e.status && e.status >= 400 && e.status < 500)
    return {
      status: e.status,
      title: titleOf(e.status),
      // body-parser's messages can quote the request (a charset name): say it in our words.
      detail: `the request could not be read (${e.type ?? 'malformed'})`,
    };
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
    return {
      status: 503,
      title: titleOf(503),
      detail:
        'the order did not answer in time (its workers may be down); the action may still take effect: retry with the same Idempotency-Key, or read the order before retrying',
      retryAfter: 5,
    };
  // Our own words: which attributes, and the command that adds them.
  if (err instanceof SearchAttributesMissing)
    return { status: 503, title: titleOf(503), detail: err.message, retryAfter: 60 };
  if (isOutage(err)) return { status: 503, title: titleOf(503), detail: UNAVAILABLE, retryAfter: 5 };
  return { status: 500, title: titleOf(500), detail: 'unexpected error' };
}

export function problemMiddleware(log: (err: unknown, status: number) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const problem = toProblem(err);
    // Counted with the request's Idempotency-Key: its retry runs the action again (api/idempotency.ts).
    if (rerunnableOutage(err)) res.locals[RERUNNABLE_OUTAGE] = true;
    if (problem.status >= 500) log(err, problem.status);
    sendProblem(res, problem);
  };
}

/** Express 4 does not catch rejected promises: pass them to the error middleware. */
export function route(handler: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}
