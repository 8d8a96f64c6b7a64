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
import { stepCase } from '../../domain/case-record';
import { decide, isTerminal } from '../../domain/machine';
import { actionRequestProblem } from '../../domain/order';
import { businessRefusal, invalidInput, notNow, refusalFor } from '../../domain/refusals';
import { receivedProblem, refundableUnits, returnMachine, type ReceivedUnits } from '../../domain/returns';
import type { Actor } from '../../domain/roles';
import { store } from '../activities';
import { asApplicationFailure } from '../order/order-entity';
import { CANCELLATION_REQUEST, caseCancellation } from '../cancellation-request';
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
    ...(input.reasonCode ? { reasonCode: input.reasonCode } : {}),
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
  // Returns from before the windows wait for staff as long as it takes.
  const windows = input.windows && patched('return-windows') ? input.windows : undefined;
  // A cancellation request rejects the return as support would, while it is undecided; decided,
  // it goes on (its details say why). Returns from before ended where they stood.
  const cancellation = caseCancellation(
    patched('case-cancellation-requests'),
    'return',
    () => record.status,
    () => act({ action: 'reject', ...CANCELLATION_REQUEST }),
    asApplicationFailure,
  );
  const { shielded } = cancellation;

  async function move(action: string, actor: Actor, actorId?: string, reason?: string): Promise<void> {
    const at = new Date().toISOString();
    record = stepCase(returnMachine, record, { action, actor, actorId, reason, at });
    await store.saveReturn(record);
    setCurrentDetails(
      `**${record.status}**: ${returnMachine.states[record.status as 'REQUESTED']?.labels.support ?? ''}`,
    );
  }

  function validate(request: ReturnActionRequest, whileBusy: 'refuse' | 'wait' = 'refuse'): void {
    const unstorable = actionRequestProblem(request);
    if (unstorable) throw refuse(invalidInput('the request', unstorable));
    const { action, actor } = request;
    if (request.received) {
      if (action !== 'receive') throw refuse(invalidInput('the request', 'items'));
      // Well formed, but not what this return holds: a business answer (422), naming the field.
      const problem = receivedProblem(input.items, request.received);
      if (problem)
        throw refuse(
          businessRefusal('RECEIPT_MISMATCH', 'the receipt names units this return does not hold', {
            field: problem,
          }),
        );
    }
    const decision = decide(returnMachine, record.status, action, actor.role);
    if (!decision.ok)
      throw refuse(refusalFor(decision, { kind: 'return', status: record.status }, action, actor.role));
    // One action at a time: the one under way decides what comes next.
    if (busy && whileBusy === 'refuse')
      throw refuse(notNow(`cannot ${action} a return that is ${record.status}`, record.status, []));
  }

  /** A person's action (an Update, or a cancellation request taken as support's reject). */
  async function act(request: ReturnActionRequest): Promise<ReturnRecord> {
    // A window's step (escalate, close) may be saving as staff act: staff wait for it, then the
    // return as it now is decides (returns from before this waited for nobody: refused).
    if (patched('return-actions-wait-for-windows')) await condition(() => !busy);
    validate(request);
    busy = true;
    try {
      // Received goods are back in stock (damaged ones written off) before the refund is asked for.
      if (request.action === 'receive' && request.received && patched('return-receive-items')) {
        const { received } = request;
        const units = (pick: (r: ReceivedUnits) => number) =>
          received.map((r) => ({ sku: r.sku, quantity: pick(r) })).filter((l) => l.quantity > 0);
        const [sellable, damaged] = [units((r) => r.sellable), units((r) => r.damaged)];
        if (sellable.length > 0)
          await store.restockItems({ orderId: input.orderId, items: sellable, tag: input.returnId });
        if (damaged.length > 0)
          await store.writeOffReturned({
            orderId: input.orderId,
            items: damaged,
            tag: `${input.returnId}:damaged`,
          });
        record = { ...record, received };
      } else if (request.action === 'receive')
        await store.restockItems({ orderId: input.orderId, items: input.items, tag: input.returnId });
      await move(request.action, request.actor.role, request.actor.id, request.reason);
    } finally {
      busy = false;
    }
    return record;
  }

  setHandler(returnStateQuery, () => record);
  setHandler(returnRefundedSignal, ({ amount }) => void (refunded = amount));
  setHandler(returnActionUpdate, (request) => shielded(() => act(request)), {
    // Busy is the handler's to wait out: the validator only refuses what no wait can mend.
    validator: (request) => validate(request, 'wait'),
  });

  /** A state's window: nobody deciding escalates, then closes it; goods that never come close it. */
  async function windowsRun(w: NonNullable<ReturnInput['windows']>): Promise<void> {
    while (!isTerminal(returnMachine, record.status) && record.status !== 'RECEIVED') {
      const status = record.status;
      const after = returnMachine.states[status as 'REQUESTED'].after;
      if (!after) {
        await condition(() => record.status !== status);
        continue;
      }
      const due =
        Date.parse(record.history.at(-1)!.at) +
        (after.timer === 'returnShipWindow' ? w.shipMs : w.decisionMs);
      const left = due - Date.now();
      if (left > 0 && (await condition(() => record.status !== status, left))) continue;
      // An action under way decides first.
      if (busy) {
        await condition(() => !busy);
        continue;
      }
      busy = true;
      try {
        await move(after.action, 'system', undefined, after.reason);
      } finally {
        busy = false;
      }
    }
  }

  return shielded(run);

  async function run(): Promise<ReturnRecord> {
    await store.saveReturn(record);
    if (windows) await windowsRun(windows);
    else await condition(() => isTerminal(returnMachine, record.status) || record.status === 'RECEIVED');
    if (record.status === 'REJECTED' || record.status === 'CLOSED') {
      // The reject's handler finishes saving (and answers its caller) before the return ends.
      if (patched('return-waits-for-handlers')) await condition(allHandlersFinished);
      // A cancellation request's reject finishes saving too.
      const taking = cancellation.taking();
      if (taking) await taking;
      await order.signal(returnClosedSignal, { returnId: input.returnId });
      return record;
    }
    // The receive's own save first: the refund's save (a later step) must not overtake it, or the
    // receive's event is never written (returns from before signalled at once).
    if (patched('return-refund-after-receive-saved')) await condition(() => !busy);
    // What came back, sellable or damaged; without a receipt, everything held. Units that never came
    // stay the customer's, as unrefunded units of the order.
    const { received } = record;
    await order.signal(returnReceivedSignal, {
      returnId: input.returnId,
      ...(received ? { items: refundableUnits(received) } : {}),
    });
    await condition(() => refunded !== undefined);
    record = { ...record, refundedAmount: refunded! };
    await move('refund', 'system');
    return record;
  }
}
