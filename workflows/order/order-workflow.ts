/**
 * One order, from placement to a terminal state, driven by its type's state machine
 * (domain/machines). Actions arrive as Updates, validated against the machine so a refused one
 * leaves no trace in the history; system actions come from states' `auto` and `after` rules and
 * from returns whose goods have arrived. Reverse flows run as child workflows (workflows/reverse).
 * The order's state and its operations are the entity (./order-entity.ts); this function
 * registers the handlers and runs the loop.
 */
import { allHandlersFinished, condition, patched, setHandler } from '@temporalio/workflow';
import { isTerminal } from '../../domain/machine';
import { machineFor } from '../../domain/machines';
import { placeOrderInputProblem } from '../../domain/order';
import { invalidInput } from '../../domain/refusals';
import { local, store } from '../activities';
import {
  allowedActionsQuery,
  createOrderUpdate,
  orderActionUpdate,
  orderStateQuery,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../messages';
import { refuse } from '../refusals';
import { returnClosedSignal, returnReceivedSignal } from '../reverse/messages';
import { OrderEntity } from './order-entity';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const machine = machineFor(input.type);
  // Placement and projection writes as local activities; orders started before keep theirs as activities.
  const quick = patched('local-placement-and-projection') ? local : store;
  const order = new OrderEntity(input, machine, quick);

  setHandler(orderStateQuery, () => order.snapshot());
  setHandler(allowedActionsQuery, () => order.allowedActionsByRole());
  setHandler(createOrderUpdate, async () => {
    await condition(() => order.placed || order.rejection !== undefined);
    if (order.rejection) throw order.rejection;
    return order.current;
  });
  setHandler(orderActionUpdate, (request) => order.lock.run(() => order.perform(request)), {
    validator: (request) => order.validate(request),
  });
  setHandler(returnReceivedSignal, ({ returnId }) => order.returnReceived(returnId));
  setHandler(returnClosedSignal, ({ returnId }) => order.returnClosed(returnId));

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

  while (!isTerminal(machine, order.current.status) || order.returnsToRefund.length > 0) {
    if (order.returnsToRefund.length > 0) {
      const returnId = order.returnsToRefund.shift()!;
      await order.lock.run(() => order.refundReturn(returnId));
      continue;
    }
    const state = machine.states[order.current.status]!;
    const seq = order.current.history.length;
    const unchanged = () => order.current.history.length === seq;
    const woken = () => !unchanged() || order.returnsToRefund.length > 0;
    if (state.auto) {
      const action = state.auto;
      await order.lock.run(async () => (unchanged() ? order.apply(action, 'system', null) : undefined));
    } else if (state.after) {
      const { timer, action, reason } = state.after;
      const wait = order.deadline(timer) - Date.now();
      const moved =
        wait > 0
          ? await condition(woken, wait, { summary: `${timer}: ${action} if still ${order.current.status}` })
          : false;
      if (moved) continue;
      // The after-sales window has closed, but a return in progress is settled first.
      if (action === 'complete' && order.hasOpenReturns) {
        await condition(() => !order.hasOpenReturns || woken());
        continue;
      }
      await order.lock.run(async () =>
        unchanged() ? order.apply(action, 'system', null, reason) : undefined,
      );
    } else {
      await condition(woken);
    }
  }
  await condition(allHandlersFinished);
  return { orderId: input.orderId, status: order.current.status };
}
