/**
 * When the API asks again after a 409 (api/order-commands.ts): only when the workflow refused in
 * another status than the caller was shown, for an action the machine allows in the shown one.
 * And when it tells the order a pay went unanswered: only when the workflow gave no answer at all.
 */
import {
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { unanswered, workflowIsBehind } from '../../api/order-commands';
import { DomainError, FailureType } from '../../domain/errors';
import type { ActionRequest } from '../../domain/order';

const refusedIn = (status: string, type: string = FailureType.IllegalTransition) =>
  new WorkflowUpdateFailedError(
    'Workflow Update failed',
    ApplicationFailure.create({ type, message: 'refused', details: [{ status, allowedActions: [] }] }),
  );
const ship: ActionRequest = { action: 'ship', actor: { role: 'merchant', id: 'm' } };
const shownInProduction = { type: 'standard' as const, status: 'IN_PRODUCTION' };

test('a refusal in an older status, for an action allowed in the shown one: the workflow is behind', () => {
  expect(workflowIsBehind(refusedIn('PAID'), shownInProduction, ship)).toBe(true);
});

test('a refusal in the shown status is final', () => {
  expect(workflowIsBehind(refusedIn('IN_PRODUCTION'), shownInProduction, ship)).toBe(false);
});

test('an action the machine refuses in the shown status too is final', () => {
  const pay: ActionRequest = { action: 'pay', actor: { role: 'customer', id: 'c' } };
  expect(workflowIsBehind(refusedIn('PAID'), shownInProduction, pay)).toBe(false);
});

test('other failures (forbidden, business rules, outages) are final', () => {
  expect(workflowIsBehind(refusedIn('PAID', FailureType.Forbidden), shownInProduction, ship)).toBe(false);
  expect(workflowIsBehind(refusedIn('PAID', FailureType.Business), shownInProduction, ship)).toBe(false);
  expect(workflowIsBehind(new Error('unavailable'), shownInProduction, ship)).toBe(false);
});

test('a pay is unanswered when the workflow gave no answer: a deadline, an outage, a workflow that did not take it', () => {
  expect(unanswered(new WorkflowUpdateRPCTimeoutOrCancelledError('timed out'))).toBe(true);
  expect(unanswered(new DomainError('the workflow did not take the request; retry shortly', 503))).toBe(true);
  expect(unanswered(new ServiceError('unavailable'))).toBe(true);
});

test("the workflow's own answer, a missing order or a bug's 500 is not an unanswered pay", () => {
  expect(unanswered(refusedIn('PAID', FailureType.Unavailable))).toBe(false); // a provider's outage it met
  expect(unanswered(refusedIn('PAID'))).toBe(false);
  expect(unanswered(new WorkflowNotFoundError('gone', 'ord_1', undefined))).toBe(false);
  expect(unanswered(new TypeError('a bug'))).toBe(false);
});
