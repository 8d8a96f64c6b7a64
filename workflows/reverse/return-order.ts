/**
 * A return (RMA), as its own workflow with its own machine (domain/returns.ts): the merchant
 * approves or rejects it, receives the goods (which go back to stock), and the order refunds
 * them. Started by the order workflow, which holds the returned units until this one closes.
 */
import {
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  patched,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import { decide, isTerminal } from '../../domain/machine';
import { actionRequestProblem, actorName } from '../../domain/order';
import { invalidInput, notNow, refusalFor } from '../../domain/refusals';
import { returnMachine } from '../../domain/returns';
import type { Actor } from '../../domain/roles';
import { store } from '../activities';
import { refuse } from '../refusals';
import {
  returnActionUpdate,
  returnClosedSignal,
  returnReceivedSignal,
  returnRefundedSignal,
  returnStateQuery,
  type ReturnActionRequest,
  type ReturnInput,
  type ReturnRecord,
} from './messages';

export function initialReturnRecord(input: ReturnInput): ReturnRecord {
  return {
    id: input.returnId,
    orderId: input.orderId,
    customerId: input.customerId,
    status: returnMachine.initial,
    items: input.items,
    reason: input.reason,
    refundedAmount: null,
    history: [
      {
        from: null,
        action: 'request',
        to: returnMachine.initial,
        actor: input.requestedBy,
        at: input.requestedAt,
      },
    ],
    createdAt: input.requestedAt,
    updatedAt: input.requestedAt,
  };
}

export async function returnOrderFlow(input: ReturnInput): Promise<ReturnRecord> {
  let record = initialReturnRecord(input);
  let refunded: number | undefined;
  let busy = false;
  const order = getExternalWorkflowHandle(input.orderId);

  async function move(action: string, actor: Actor, actorId?: string, reason?: string): Promise<void> {
    const decision = decide(returnMachine, record.status, action, actor);
    if (!decision.ok) throw new Error(`return machine refused ${action} in ${record.status}`);
    const at = new Date().toISOString();
    record = {
      ...record,
      status: decision.transition.to,
      updatedAt: at,
      history: [
        ...record.history,
        {
          from: record.status,
          action,
          to: decision.transition.to,
          actor: actorName(actor, actorId),
          at,
          ...(reason ? { reason } : {}),
        },
      ],
    };
    await store.saveReturn(record);
    setCurrentDetails(
      `**${record.status}**: ${returnMachine.states[record.status as 'REQUESTED']?.labels.support ?? ''}`,
    );
  }

  function validate(request: ReturnActionRequest): void {
    const unstorable = actionRequestProblem(request);
    if (unstorable) throw refuse(invalidInput('the request', unstorable));
    const { action, actor } = request;
    const decision = decide(returnMachine, record.status, action, actor.role);
    if (!decision.ok)
      throw refuse(refusalFor(decision, { kind: 'return', status: record.status }, action, actor.role));
    // One action at a time: the one under way decides what comes next.
    if (busy) throw refuse(notNow(`cannot ${action} a return that is ${record.status}`, record.status, []));
  }

  setHandler(returnStateQuery, () => record);
  setHandler(returnRefundedSignal, ({ amount }) => void (refunded = amount));
  setHandler(
    returnActionUpdate,
    async (request) => {
      validate(request);
      busy = true;
      try {
        // Received goods are back in stock before the refund is asked for.
        if (request.action === 'receive')
          await store.restockItems({ orderId: input.orderId, items: input.items, tag: input.returnId });
        await move(request.action, request.actor.role, request.actor.id, request.reason);
      } finally {
        busy = false;
      }
      return record;
    },
    { validator: validate },
  );

  await store.saveReturn(record);
  await condition(() => isTerminal(returnMachine, record.status) || record.status === 'RECEIVED');
  if (record.status === 'REJECTED') {
    // The reject's handler finishes saving (and answers its caller) before the return ends.
    if (patched('return-waits-for-handlers')) await condition(allHandlersFinished);
    await order.signal(returnClosedSignal, { returnId: input.returnId });
    return record;
  }
  await order.signal(returnReceivedSignal, { returnId: input.returnId });
  await condition(() => refunded !== undefined);
  record = { ...record, refundedAmount: refunded! };
  await move('refund', 'system');
  return record;
}
