/**
 * How the API's Temporal client retries. The SDK's default backs off for about 20 s on
 * UNAVAILABLE; when no frontend answers at all (connection refused: it is down or restarting),
 * holding the caller that long is a hang, not a retry. Then the API gives up after a few quick
 * attempts (about a second of backoff) and answers 503 with Retry-After (api/problem.ts), which loses
 * nothing: the caller sends the request again, with its Idempotency-Key. Every other retryable
 * failure (a server busy or still joining its cluster) keeps the SDK's own backoff.
 */
import { defaultGrpcRetryOptions, type GrpcRetryOptions } from '@temporalio/client';

type StatusObject = Parameters<GrpcRetryOptions['retryableDecider']>[1];

const UNREACHABLE_ATTEMPTS = 4;

/** A refused or failed connection, as grpc-js reports it (no server answered the call at all). */
export function noServerAnswered(status: StatusObject): boolean {
  return (
    status.code === 14 /* UNAVAILABLE */ && /No connection established|ECONNREFUSED/.test(status.details)
  );
}

export function apiGrpcRetryOptions(): GrpcRetryOptions {
  const defaults = defaultGrpcRetryOptions();
  return {
    delayFunction: defaults.delayFunction,
    retryableDecider: (attempt, status) =>
      noServerAnswered(status) ? attempt < UNREACHABLE_ATTEMPTS : defaults.retryableDecider(attempt, status),
  };
}
