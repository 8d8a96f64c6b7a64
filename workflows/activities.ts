/** Every external call of the order workflow, with its budget in one place. */
import { proxyActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../activities';
import { withSummaries } from './activity-summaries';

/**
 * Database work: retried without limit, so an outage of PostgreSQL delays an order and loses
 * nothing; business refusals are non-retryable and come back at once.
 */
export const store = withSummaries(
  proxyActivities<OrderActivities>({
    // Database work takes milliseconds: a worker that dies mid-activity is noticed after this.
    startToCloseTimeout: '10s',
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
  }),
);

/**
 * The payment provider: a customer is waiting on the answer, so transient errors are retried
 * quickly and a bounded number of times; the same idempotency key is used on every retry.
 */
export const payment = withSummaries(
  proxyActivities<OrderActivities>({
    startToCloseTimeout: '10s',
    retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8 },
  }),
);

/** Refunds must eventually happen: retried without limit. */
export const refunds = withSummaries(
  proxyActivities<OrderActivities>({
    startToCloseTimeout: '15s',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
  }),
);
