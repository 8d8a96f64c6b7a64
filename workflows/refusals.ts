/** Refusals the workflows answer Updates with, as ApplicationFailures of the types api/problem.ts maps. */
import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../domain/errors';

/** Input that cannot be stored: the failure names the field (a path, never its value, the client's string). */
export function invalidInput(what: string, field: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.InvalidInput,
    message: `${what} holds a value that cannot be stored`,
    details: [{ field }],
    nonRetryable: true,
  });
}
