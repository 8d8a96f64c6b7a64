/** Domain errors cross into the workflow as non-retryable ApplicationFailures of a known type. */
import { ApplicationFailure } from '@temporalio/common';
import { BusinessRuleError, FailureType } from '../domain/errors';

export async function asFailure<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BusinessRuleError) {
      throw ApplicationFailure.create({
        type: FailureType.Business,
        message: err.message,
        nonRetryable: true,
        details: [err.extra],
      });
    }
    throw err;
  }
}
