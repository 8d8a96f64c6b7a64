/** The API's Temporal retries (api/temporal-retry.ts): quick to give up when no frontend answers, the SDK's otherwise. */
import { Metadata } from '@grpc/grpc-js';
import { apiGrpcRetryOptions, noServerAnswered } from '../../api/temporal-retry';

const status = (code: number, details: string) => ({ code, details, metadata: new Metadata() });
const refused = status(14, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7233');
const busy = status(14, 'Not enough hosts to serve the request');
const { retryableDecider, delayFunction } = apiGrpcRetryOptions();

test('a refused connection is retried a few times, well under a second of backoff, then given up', () => {
  expect(noServerAnswered(refused)).toBe(true);
  const attempts = [1, 2, 3, 4, 5].filter((attempt) => retryableDecider(attempt, refused));
  expect(attempts).toEqual([1, 2, 3]);
  const waited = attempts.reduce((sum, attempt) => sum + delayFunction(attempt, refused), 0);
  expect(waited).toBeLessThan(1500);
});

test('a server that answers UNAVAILABLE (busy, still joining) keeps the SDK backoff of up to 10 attempts', () => {
  expect(noServerAnswered(busy)).toBe(false);
  expect(retryableDecider(9, busy)).toBe(true);
  expect(retryableDecider(10, busy)).toBe(false);
});

test('errors that are not retryable stay so', () => {
  expect(retryableDecider(1, status(3, 'invalid argument'))).toBe(false);
  expect(retryableDecider(1, status(5, 'not found'))).toBe(false);
});
