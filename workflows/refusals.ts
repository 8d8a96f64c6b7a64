/** Refusals (domain/refusals.ts) as the ApplicationFailures workflows answer Updates with; api/problem.ts maps their types. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { Refusal } from '../domain/refusals';

export function refuse(refusal: Refusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: refusal.type,
    message: refusal.message,
    details: [refusal.details],
    nonRetryable: true,
  });
}
