/** Every external call of the order workflow, with its budget in one place. */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderActivities } from '../activities';
import { withSummaries } from './activity-summaries';

/**
 * Database work: retried without limit, so an outage of PostgreSQL delays an order and loses
 * nothing; business refusals are non-retryable and come back at once.
 */
const DATABASE_WORK = {
  // Database work takes milliseconds: a worker that dies mid-activity is noticed after this.
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
} as const;

export const store = withSummaries(proxyActivities<OrderActivities>(DATABASE_WORK));

/**
 * The payment provider: a customer is waiting on the answer, so transient errors are retried
 * quickly and a bounded number of times; the same idempotency key is used on every retry.
 */
const PAYMENT_CALLS = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 8 },
} as const;

export const payment = withSummaries(proxyActivities<OrderActivities>(PAYMENT_CALLS));

/**
 * The order's own charge (pay, a deposit, a balance), run by the worker that holds the workflow:
 * the Update that pays waits on it, and it saves the activity task's round trip through the server
 * and a workflow task (docs/BENCHMARKS.md, tuning 6). Its trace is made with the task that accepts
 * the Update: a worker that dies first leaves a charge the order does not know, which the order
 * looks up by its key (../order/order-entity.ts, `lostCharge`). Its first three tries only (most
 * charges are answered at once): what outlives them is retried as an activity (`payment`, the same
 * key), whose attempts the server keeps. A local activity's start again with each new workflow
 * task, so under a worker that crashed every few seconds its eight tries (about 9 s) never ended,
 * and the server refused the order's Updates while its workflow task kept failing
 * (../order/effects.ts, `chargeHere`).
 */
export const localPayment = withSummaries(
  proxyLocalActivities<OrderActivities>({
    ...PAYMENT_CALLS,
    retry: { ...PAYMENT_CALLS.retry, maximumAttempts: 3 },
    // A provider that hangs (no answer within the adapter's 5 s) holds the workflow task, and
    // with it every other message to the order: its tries here are capped, the activity goes on.
    scheduleToCloseTimeout: '8s',
  }),
);

/**
 * Looking up an outcome that never came back (a charge whose answers were all lost): nothing may
 * move until it is known, so retried without limit, through any outage of the provider.
 */
export const reconcile = withSummaries(
  proxyActivities<OrderActivities>({
    startToCloseTimeout: '10s',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
  }),
);

/** Refunds must eventually happen: retried without limit. */
export const refunds = withSummaries(
  proxyActivities<OrderActivities>({
    startToCloseTimeout: '15s',
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
  }),
);

/**
 * Placement and the order center's projection: quick database writes the workflow waits on, run
 * by the worker that holds the workflow, without the activity task's round trip through the
 * server (docs/BENCHMARKS.md). Retried without limit, like `store`; if that worker dies, the next
 * one to run the workflow does the write again, which is idempotent.
 */
export const local = withSummaries(proxyLocalActivities<OrderActivities>(DATABASE_WORK));

/**
 * The warehouse: a fulfilment request must eventually land, so it is retried without limit, under
 * the same id, through any outage (a lost answer is found by that id, never sent twice).
 */
export const warehouse = withSummaries(
  proxyActivities<OrderActivities>({
    startToCloseTimeout: '15s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  }),
);
