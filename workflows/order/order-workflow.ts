/**
 * One order, from placement to a terminal state, driven by its type's state machine
 * (domain/machines). Actions arrive as Updates, validated against the machine so a refused one
 * leaves no trace in the history; system actions come from states' `auto` and `after` rules and
 * from returns whose goods have arrived. Reverse flows run as child workflows (workflows/reverse).
 * The order's state and its operations are the entity (./order-entity.ts); this function
 * registers the handlers and runs the loop.
 */
import { allHandlersFinished, condition, currentUpdateInfo, patched, setHandler } from '@temporalio/workflow';
import { isTerminal, type OrderMachine } from '../../domain/machine';
import { machineFor } from '../../domain/machines';
import { placeOrderInputProblem } from '../../domain/order';
import { invalidInput } from '../../domain/refusals';
import { local, store } from '../activities';
import {
  allowedActionsQuery,
  createOrderUpdate,
  orderActionUpdate,
  orderStateQuery,
  paymentUpdateSignal,
  payUnansweredSignal,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../messages';
import { cancellationRequests } from '../cancellation-request';
import { refuse } from '../refusals';
import { caseNewsSignal, returnClosedSignal, returnReceivedSignal } from '../reverse/messages';
import { parcelNewsSignal } from '../fulfilment/messages';
import { OrderEntity } from './order-entity';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const machine = machineFor(input.type);
  // Decided once, in the first task, for the whole order: paid-then-in-production recorded by one
  // local activity (./order-entity.ts, `apply`); the charge in this worker (./effects.ts,
  // `chargeInWorker`); a step's writes with its record, and paid-then-in-production sharing one
  // search-attribute upsert (`stepWrites`). Each implies the patches before it, so a new order
  // records one marker; orders started before keep their path. Then: a request to cancel the
  // workflow cancels the order (`cancelOnRequest`), and nothing else in it is cancelled. Newest: a
  // refund of units waits while a warehouse still picks or packs them (`validate`); newest of all,
  // refunds wait while a capture of the held payment has no answer; newest, that capture is
  // retried on the workflow's own word, whatever flag stands on the order (`captureOwnWord`).
  const captureOwnWord = patched('capture-retries-own-word');
  const refundsWaitForCapture = captureOwnWord || patched('refunds-wait-for-capture');
  const refundsWaitForWarehouse = refundsWaitForCapture || patched('refunds-wait-for-warehouse');
  const cancelAsOrder = refundsWaitForWarehouse || patched('cancellation-request-cancels-order');
  const autoStepWithRecord = cancelAsOrder || patched('auto-step-with-record');
  const chargeInWorker = autoStepWithRecord || patched('charge-in-worker');
  const stepWrites = chargeInWorker || patched('step-writes-with-record');
  // Placement and projection writes as local activities; orders started before keep theirs as activities.
  const quick = stepWrites || patched('local-placement-and-projection') ? local : store;
  const order = new OrderEntity(
    input,
    machine,
    quick,
    stepWrites,
    chargeInWorker,
    autoStepWithRecord,
    refundsWaitForWarehouse,
    refundsWaitForCapture,
    captureOwnWord,
  );

  // A cancellation request is heard here and taken by the loop; the order's work, its Updates'
  // included, runs on regardless. Orders started before are cancelled where they stand.
  const cancel: CancelRequest = { requested: false, taken: false };
  const shielded = cancellationRequests(cancelAsOrder, () => (cancel.requested = true));

  setHandler(orderStateQuery, () => order.snapshot());
  setHandler(allowedActionsQuery, () => order.allowedActionsByRole());
  setHandler(createOrderUpdate, () =>
    shielded(async () => {
      await condition(() => order.placed || order.rejection !== undefined);
      if (order.rejection) throw order.rejection;
      return order.current;
    }),
  );
  setHandler(
    orderActionUpdate,
    (request) => {
      if (request.action === 'pay') order.payAsked(currentUpdateInfo()?.id);
      return shielded(() => order.lock.run(() => order.perform(request)));
    },
    {
      validator: (request) => order.validate(request, true),
    },
  );
  setHandler(returnReceivedSignal, ({ returnId, items }) => order.returnReceived(returnId, items));
  setHandler(returnClosedSignal, ({ returnId }) => order.returnClosed(returnId));
  setHandler(paymentUpdateSignal, (update) => order.paymentUpdate(update));
  setHandler(payUnansweredSignal, (said) => order.payUnanswered(said?.updateId));
  setHandler(parcelNewsSignal, (record) => void order.parcelNews.push(record));
  setHandler(caseNewsSignal, (news) => void order.caseNews.push(news));

  return shielded(() => run(input, machine, order, chargeInWorker, cancel));
}

/** A request to cancel the workflow: heard by the workflow, taken once by the loop. */
interface CancelRequest {
  requested: boolean;
  taken: boolean;
}

/** The order from its placement to its end, and until nothing of it is left open. */
async function run(
  input: OrderWorkflowInput,
  machine: OrderMachine,
  order: OrderEntity,
  chargeInWorker: boolean,
  cancel: CancelRequest,
): Promise<OrderWorkflowResult> {
  // Input that skipped the API's schemas and cannot be stored is refused before anything is held.
  const unstorable = placeOrderInputProblem(input);
  if (unstorable && patched('refuse-unstorable-input')) {
    order.reject(refuse(invalidInput('the order', unstorable)));
    await condition(allHandlersFinished);
    return { orderId: input.orderId, status: 'REJECTED' };
  }
  if (!(await order.place())) {
    await condition(allHandlersFinished);
    return { orderId: input.orderId, status: 'REJECTED' };
  }

  // Open until the order ends, its returns are refunded, no charge is pending at the provider (or
  // made unseen: `unshownChargeWatched`; or a hold's renewal still processing: `renewalOutstanding`),
  // no capture is owed and no warehouse's parcel is still with the carrier, on its way back or not.
  // Open for the parcels alone: waited for until their news comes, or for so long at most.
  let forParcels = false;
  // Open for recalled parcels alone: waited for as long at most, then support is asked (an order
  // that reached that wait before takes this path once it is next woken).
  let forRecalls = false;
  const open = () => {
    forParcels = false;
    forRecalls = false;
    if (
      !isTerminal(machine, order.current.status) ||
      order.returnsToRefund.length > 0 ||
      order.paymentPending ||
      order.captureOutstanding ||
      order.unshownChargeWatched ||
      order.renewalOutstanding
    )
      return true;
    if (order.parcelsComingBack) {
      forRecalls = patched('recalled-parcels-given-up');
      return true;
    }
    forParcels = order.parcelsOnTheirWay && patched('wait-for-parcels-on-their-way');
    return forParcels;
  };
  while (open()) {
    if (cancel.requested && !cancel.taken) {
      cancel.taken = true;
      await order.lock.run(() => order.cancelOnRequest());
      continue;
    }
    if (order.settlements.length > 0) {
      const update = order.settlements.shift()!;
      await order.lock.run(() => order.settle(update));
      continue;
    }
    if (order.parcelNews.length > 0) {
      const record = order.parcelNews.shift()!;
      await order.lock.run(() => order.takeParcelNews(record));
      continue;
    }
    if (order.returnsToRefund.length > 0) {
      const returnId = order.returnsToRefund.shift()!;
      await order.lock.run(() => order.refundReturn(returnId));
      continue;
    }
    if (order.caseNews.length > 0) {
      const news = order.caseNews.shift()!;
      await order.lock.run(() => order.takeCaseNews(news));
      continue;
    }
    // A webhook may never come: the provider is asked about a pending charge now and then; a held
    // payment is renewed before it runs out; a capture that got no answer is tried again.
    if (order.msUntilDue() === 0) {
      await order.lock.run(() => order.runDue());
      continue;
    }
    // Before the loop waits (a state it leaves at once is published with the next): one upsert per task.
    if (!machine.states[order.current.status]?.auto) order.publishHeld();
    const seq = order.current.history.length;
    const unchanged = () => order.current.history.length === seq;
    const pending = order.paymentPending;
    const watched = order.watchedKeys.length;
    const editKeys = order.editKeysKept;
    // Woken by a transition, a return to refund, the provider's news, a charge turning pending
    // (the payment timeout then waits longer, and the provider is asked now and then), or an
    // edit's charge not shown (looked for now and then: it changes no state the loop waits on).
    const woken = () =>
      !unchanged() ||
      (cancel.requested && !cancel.taken) ||
      order.returnsToRefund.length > 0 ||
      order.settlements.length > 0 ||
      order.parcelNews.length > 0 ||
      order.caseNews.length > 0 ||
      order.paymentPending !== pending ||
      order.watchedKeys.length !== watched ||
      order.editKeysKept !== editKeys;
    if (isTerminal(machine, order.current.status)) {
      // Ended with a charge pending: a 3-D Secure step is given up; a processing one is waited for
      // (it is refunded if it succeeds).
      if (order.awaitingCustomer) await order.lock.run(() => order.abandonPending());
      else if (forParcels) {
        const giveUp = order.msUntilParcelNewsGivenUp();
        if (giveUp === 0 || !(await condition(woken, giveUp))) order.giveUpParcelNews();
      } else if (forRecalls) {
        const giveUp = order.msUntilRecallGivenUp();
        // News of the parcel that came with the timer is taken first (the loop again).
        if (giveUp === 0 || !(await condition(woken, giveUp)))
          await order.lock.run(async () =>
            order.parcelNews.length === 0 && order.parcelsComingBack
              ? order.giveUpRecalledParcels()
              : undefined,
          );
      } else await condition(woken, order.msUntilDue()!);
      continue;
    }
    const state = machine.states[order.current.status]!;
    const poll = order.msUntilDue();
    const retry = state.auto ? order.msUntilAutoRetry() : undefined;
    if (retry) {
      // The code vendor refused the step: asked again later, or before that if the order moves on.
      await condition(woken, poll === undefined ? retry : Math.min(retry, poll));
    } else if (state.auto) {
      const action = order.autoAction(state);
      await order.lock.run(async () => (unchanged() ? order.runAuto(action) : undefined));
    } else if (state.after) {
      const { timer, action, reason } = state.after;
      // The payment timeout waits for a pending charge's outcome, a while longer.
      const grace = action === 'expire' && order.paymentPending ? order.pendingGraceMs : 0;
      const due = order.deadline(timer) + grace;
      const wait = due - Date.now();
      const timeout = poll === undefined ? wait : Math.min(wait, poll);
      const moved =
        timeout > 0
          ? await condition(woken, timeout, {
              summary: `${timer}: ${action} if still ${order.current.status}`,
            })
          : false;
      if (moved) continue;
      if (poll !== undefined && Date.now() < due) continue; // woken to ask the provider, renew or capture
      // The after-sales window has closed, but a return in progress is settled first.
      if (action === 'complete' && order.hasOpenReturns) {
        await condition(() => !order.hasOpenReturns || woken());
        continue;
      }
      // Past the grace, a 3-D Secure step the customer never finished is given up before expiring.
      if (action === 'expire' && order.awaitingCustomer) {
        await order.lock.run(() => order.abandonPending());
        continue;
      }
      // A pay that held the lock while the timer fired may have left a charge pending: the timeout
      // then waits its grace (the loop again), not expire the order under the customer's payment.
      // (A charge runs in the worker, so this takes one that outlasts its workflow task: its tries
      // there, up to 8 s, then an activity's; or an order placed before 'charge-in-worker'.)
      const pendingSince = () => order.paymentPending !== pending && patched('timeout-sees-new-pending');
      if (chargeInWorker)
        await order.lock.run(async () => {
          if (!unchanged() || pendingSince()) return;
          // A charge whose pay Update was lost may pay the order yet: looked up before it times
          // out, under the same hold of the lock (no pay can run between the look and the timeout).
          if (await order.lostCharge()) return;
          await order.apply(action, 'system', null, reason, true);
        });
      else
        await order.lock.run(async () =>
          unchanged() && !pendingSince() ? order.apply(action, 'system', null, reason) : undefined,
        );
    } else if (poll === undefined) {
      await condition(woken);
    } else {
      await condition(woken, poll);
    }
  }
  await condition(allHandlersFinished);
  return { orderId: input.orderId, status: order.current.status };
}
