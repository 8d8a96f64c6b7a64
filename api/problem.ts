/**
 * The one error middleware: domain errors, validation errors, Temporal failures and outages
 * become application/problem+json (RFC 9457). Routes contain no try/catch.
 */
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
import { DomainError, FailureType } from '../domain/errors';
import { storable } from '../domain/text';

interface Problem {
  status: number;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
  retryAfter?: number;
}

const TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  402: 'Payment declined',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Business rule violated',
  503: 'Service unavailable',
  500: 'Internal error',
};

export function sendProblem(res: Response, problem: Problem): void {
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

function fromFailure(failure: ApplicationFailure): Problem {
  const status =
    {
      [FailureType.Business]: 422,
      [FailureType.IllegalTransition]: 409,
      [FailureType.Forbidden]: 403,
      [FailureType.PaymentDeclined]: 402,
      [FailureType.InvalidInput]: 400,
      [FailureType.InvalidData]: 400,
    }[failure.type ?? ''] ?? 503;
  // A failure of no known type came from below (an outage that outlived its retries): its message is not for clients.
  if (status === 503) return { status, title: TITLES[503]!, detail: UNAVAILABLE, retryAfter: 5 };
  const { status: orderStatus, ...details } = (failure.details?.[0] ?? {}) as Record<string, unknown>;
  return {
    status,
    title: TITLES[status]!,
    detail: failure.message,
    // `status` is the HTTP status (RFC 9457); the order's own status travels as `orderStatus`.
    extra: orderStatus === undefined ? details : { orderStatus, ...details },
  };
}

/** Errors that mean a dependency is down, not that the request was wrong. */
function isOutage(err: unknown): boolean {
  return err instanceof ServiceError || isDatabaseOutage(err);
}

export function toProblem(err: unknown): Problem {
  if (err instanceof DomainError)
    return {
      status: err.status,
      title: TITLES[err.status] ?? 'Error',
      detail: err.message,
      extra: err.extra,
    };
  if (err instanceof ZodError) {
    return {
      status: 400,
      title: TITLES[400]!,
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
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
    return fromFailure(err.cause);
  if (err instanceof WorkflowNotFoundError)
    return { status: 404, title: TITLES[404]!, detail: 'order not found' };
  // Express could not decode a path parameter (`/v1/returns/%ZZ`).
  if (err instanceof URIError)
    return { status: 400, title: TITLES[400]!, detail: 'the path is not valid percent-encoding' };
  const e = err as { type?: string; status?: number; expose?: boolean };
  // body-parser's own errors: malformed JSON, too large, an unsupported charset or encoding
  if (e?.type === 'entity.parse.failed')
    return { status: 400, title: TITLES[400]!, detail: 'the body is not valid JSON' };
  if (e?.type === 'entity.too.large')
    return { status: 413, title: TITLES[413]!, detail: 'the body is too large' };
  if (e?.expose && e.status && e.status >= 400 && e.status < 500)
    return {
      status: e.status,
      title: TITLES[e.status] ?? 'Invalid request',
      // body-parser's messages can quote the request (a charset name): say it in our words.
      detail: `the request could not be read (${e.type ?? 'malformed'})`,
    };
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
    return {
      status: 503,
      title: TITLES[503]!,
      detail:
        'the order did not answer in time (its workers may be down); the action may still take effect: retry with the same Idempotency-Key, or read the order before retrying',
      retryAfter: 5,
    };
  if (isOutage(err)) return { status: 503, title: TITLES[503]!, detail: UNAVAILABLE, retryAfter: 5 };
  return { status: 500, title: TITLES[500]!, detail: 'unexpected error' };
}

export function problemMiddleware(log: (err: unknown, status: number) => void) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const problem = toProblem(err);
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
