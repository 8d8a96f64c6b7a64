/**
 * How an activity's error crosses into the workflow. Every activity goes through `guarded`:
 * - a domain refusal (BusinessRuleError) is a non-retryable failure of a known type, its details kept;
 * - data PostgreSQL refused (a NUL, an out-of-range value) is non-retryable too (InvalidData):
 *   retrying cannot help, and an endless retry would wedge the order;
 * - anything else stays retryable, under a message that names no statement and no value
 *   (db/errors.ts), since it is written into the workflow's history and the worker's log.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describeError, isDataError } from '../db/errors';
import { BusinessRuleError, FailureType } from '../domain/errors';

export function toActivityFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof BusinessRuleError) {
    return ApplicationFailure.create({
      type: FailureType.Business,
      message: err.message,
      nonRetryable: true,
      details: [err.extra],
    });
  }
  const { name, message, code } = describeError(err);
  if (isDataError(err)) {
    return ApplicationFailure.create({
      type: FailureType.InvalidData,
      message: 'the database refused the data',
      nonRetryable: true,
      details: [{ sqlState: code }],
    });
  }
  return ApplicationFailure.create({ type: name, message, nonRetryable: false });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AsyncFn = (...args: any[]) => Promise<unknown>;

/** The same activities, each failing only with failures `toActivityFailure` made. */
export function guarded<T extends Record<string, AsyncFn>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw toActivityFailure(err);
        }
      },
    ]),
  ) as T;
}
