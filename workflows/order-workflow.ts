/**
 * One order, from placement to a terminal state, driven by its type's state machine
 * (domain/machines). Actions arrive as Updates, validated against the machine so a refused one
 * leaves no trace in the history; system actions come from states' `auto` and `after` rules and
 * from returns whose goods have arrived. Reverse flows run as child workflows (workflows/reverse).
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { FailureType, type BusinessCode } from '../domain/errors';
import { allowedActions, decide, isTerminal, type TimerName } from '../domain/machine';
import { machineFor } from '../domain/machines';
import {
  actionRequestProblem,
  actorName,
  placeOrderInputProblem,
  type ActionRequest,
  type HistoryEntry,
  type OrderState,
} from '../domain/order';
import { planRefund, RefundError } from '../domain/refunds';
import { ROLES, type Actor } from '../domain/roles';
import { local, store } from './activities';
import { runEffect } from './effects';
import {
  allowedActionsQuery,
  createOrderUpdate,
  orderActionUpdate,
  orderStateQuery,
  searchAttributes,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from './messages';
import { Mutex } from './mutex';
import { invalidInput } from './refusals';
import { returnClosedSignal, returnReceivedSignal, returnRefundedSignal } from './reverse/messages';
import { describeForSupport } from './support-details';

type Units = { sku: string; quantity: number }[];

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const machine = machineFor(input.type);
  // Placement and projection writes as local activities; orders started before keep theirs as activities.
  const quick = patched('local-placement-and-projection') ? local : store;
  const lock = new Mutex();
  let order: OrderState | undefined;
  let rejection: ApplicationFailure | undefined;
  let paymentAttempts = 0;
  /** Returns in progress and the units each holds; refunds done, by id (a retried refund returns the first). */
  const openReturns = new Map<string, { items: Units; reason: string }>();
  const returnsToRefund: string[] = [];
  const refundsDone = new Set<string>();

  const current = (): OrderState => {
    if (!order) throw new Error('order not placed');
    return order;
  };

  const heldByReturns = (except?: string): Record<string, number> => {
    const held: Record<string, number> = {};
    for (const [id, r] of openReturns)
      if (id !== except) for (const i of r.items) held[i.sku] = (held[i.sku] ?? 0) + i.quantity;
    return held;
  };

  const refusal = (type: string, message: string, details: Record<string, unknown>) =>
    ApplicationFailure.create({ type, message, details: [details] });
  const business = (code: BusinessCode, message: string, details: Record<string, unknown> = {}) =>
    refusal(FailureType.Business, message, { code, ...details });

  /** The machine action a request stands for: a refund of everything left closes the order as REFUNDED. */
  function resolveAction(request: ActionRequest, actor: Actor): string {
    if (request.action !== 'refund' && request.action !== 'return_refund') return request.action;
    const o = current();
    try {
      const plan = planRefund(
        o.items,
        o.amounts.shipping,
        request.refund?.items,
        heldByReturns(request.refund?.refundId),
      );
      return plan.completesOrder ? `${request.action}_all` : request.action;
    } catch (err) {
      if (err instanceof RefundError && actor !== 'system') {
        // Say so only if this caller could refund at all here; otherwise the machine answers below.
        if (decide(machine, o.status, request.action, actor).ok)
          throw business(err.code, err.message, err.details);
      }
      return request.action;
    }
  }

  /** The machine's answer, and the request's own checks, as the failure an Update returns. Re-checked under the lock. */
  function validate(request: ActionRequest): void {
    const unstorable = actionRequestProblem(request);
    if (unstorable) throw invalidInput('the request', unstorable);
    if (!order)
      throw refusal(FailureType.IllegalTransition, 'the order is still being placed', {
        status: 'PLACING',
        allowedActions: [],
      });
    if (request.refund && refundsDone.has(request.refund.refundId)) return; // a retry: answered with the order as it is
    const action = resolveAction(request, request.actor.role);
    const decision = decide(machine, order.status, action, request.actor.role);
    if (!decision.ok) {
      throw refusal(
        decision.reason === 'forbidden' ? FailureType.Forbidden : FailureType.IllegalTransition,
        decision.reason === 'forbidden'
          ? `a ${request.actor.role} may not ${request.action} a ${machine.type} order`
          : `cannot ${request.action} an order that is ${order.status}`,
        { status: order.status, allowedActions: decision.allowedActions },
      );
    }
    if (action === 'request_return') {
      const items = request.returnRequest?.items ?? [];
      try {
        planRefund(order.items, order.amounts.shipping, items, heldByReturns());
      } catch (err) {
        if (err instanceof RefundError) throw business(err.code, err.message, err.details);
        throw err;
      }
    }
    if (action === 'modify') {
      const edits = machine.states[order.status]?.edits ?? [];
      const { items, shippingAddress } = request.modification ?? {};
      if (!items && !shippingAddress) throw business('MODIFICATION_NOT_ALLOWED', 'nothing to modify');
      const refused = [
        items && !edits.includes('items') && 'items',
        shippingAddress && !edits.includes('address') && 'the address',
      ].filter(Boolean);
      if (refused.length > 0) {
        throw refusal(
          FailureType.IllegalTransition,
          `${refused.join(' and ')} can no longer change: the order is ${order.status}`,
          {
            status: order.status,
            allowedActions: allowedActions(machine, order.status, request.actor.role),
          },
        );
      }
      for (const change of items ?? []) {
        const line = order.items.find((l) => l.sku === change.sku);
        if (!line) throw business('UNKNOWN_LINE', 'the order has no line of that SKU', { sku: change.sku });
        if (change.quantity > line.quantity)
          throw business(
            'MODIFICATION_NOT_ALLOWED',
            `quantities can only go down (to ${line.quantity} at most)`,
            {
              sku: change.sku,
            },
          );
      }
    }
  }

  function deadlineOf(timer: TimerName): number {
    const o = current();
    // Measured from entering the state: self-loops (refunds, returns, modifications) do not restart a timer.
    const entered = [...o.history].reverse().find((h) => h.from !== h.to) ?? o.history[0]!;
    const enteredAt = Date.parse(entered.at);
    switch (timer) {
      case 'paymentTimeout':
        return Date.parse(o.paymentDeadline);
      case 'autoConfirmAfter':
        return enteredAt + input.policy.autoConfirmAfterMs;
      case 'afterSalesWindow':
        return enteredAt + input.policy.afterSalesWindowMs;
      case 'balanceStartsAt':
        return Date.parse(o.presale!.balanceStartsAt);
      case 'balanceEndsAt':
        return Date.parse(o.presale!.balanceEndsAt);
    }
  }

  /** Search attributes and current details follow every transition, for support staff in the Web UI. */
  function publish(): void {
    const o = current();
    const after = machine.states[o.status]?.after;
    upsertSearchAttributes([
      { key: searchAttributes.OrderStatus, value: o.status },
      { key: searchAttributes.OrderTotal, value: o.amounts.total },
      { key: searchAttributes.PaymentDeadline, value: new Date(o.paymentDeadline) },
    ]);
    const waiting = after ? new Date(deadlineOf(after.timer)).toISOString() : null;
    setCurrentDetails(
      describeForSupport(machine, o, waiting) +
        (openReturns.size ? `\n\nOpen returns: ${[...openReturns.keys()].join(', ')}` : ''),
    );
  }

  /** Runs the transition's effect, then records the transition: in the workflow, then in PostgreSQL. */
  async function apply(
    action: string,
    actor: Actor,
    request: ActionRequest | null,
    reason?: string,
  ): Promise<void> {
    const before = current();
    const decision = decide(machine, before.status, action, actor);
    if (!decision.ok) throw new Error(`machine refused ${action} by ${actor} in ${before.status}`);
    const changes = await runEffect(decision.transition.effect, {
      order: before,
      request,
      nextPaymentAttempt: () => ++paymentAttempts,
      held: heldByReturns(request?.refund?.refundId),
      onReturnOpened: (returnId, items) =>
        openReturns.set(returnId, { items, reason: request?.reason ?? 'return' }),
    });
    const at = new Date().toISOString();
    const entry: HistoryEntry = {
      seq: before.history.length + 1,
      from: before.status,
      action,
      to: decision.transition.to,
      actor: actorName(actor, request?.actor.id),
      at,
      ...(reason ? { reason } : {}),
    };
    order = { ...before, ...changes, status: entry.to, updatedAt: at, history: [...before.history, entry] };
    const next = machine.states[entry.to]?.after;
    if (next?.action === 'expire' && entry.from !== entry.to)
      order.paymentDeadline = new Date(deadlineOf(next.timer)).toISOString();
    if (request?.refund) refundsDone.add(request.refund.refundId);
    const { history: _history, id: _id, ...snapshot } = order;
    await quick.recordTransition({ orderId: order.id, entry, snapshot });
    publish();
  }

  async function perform(request: ActionRequest): Promise<OrderState> {
    if (request.refund && refundsDone.has(request.refund.refundId)) return current();
    validate(request); // again, under the lock: another action may have moved the order meanwhile
    try {
      await apply(resolveAction(request, request.actor.role), request.actor.role, request, request.reason);
    } catch (err) {
      const failure = asApplicationFailure(err);
      if (request.action === 'pay' && isOutOfStock(failure)) {
        await apply('stock_out', 'system', null, 'out_of_stock');
      }
      throw failure;
    }
    return current();
  }

  /** A return's goods are back in stock: refund them, then tell the return. */
  async function refundReturn(returnId: string): Promise<void> {
    const open = openReturns.get(returnId);
    if (!open) return;
    const request: ActionRequest = {
      action: 'return_refund',
      actor: { id: 'system', role: 'support' },
      reason: open.reason,
      refund: { refundId: returnId, items: open.items },
      returnRequest: { returnId, items: open.items },
    };
    const before = current().amounts.refunded;
    await apply(resolveAction(request, 'system'), 'system', request, `return ${returnId}`);
    openReturns.delete(returnId);
    await getExternalWorkflowHandle(returnId).signal(returnRefundedSignal, {
      amount: current().amounts.refunded - before,
    });
    publish();
  }

  setHandler(orderStateQuery, () => order ?? null);
  setHandler(allowedActionsQuery, () =>
    order
      ? Object.fromEntries(ROLES.map((role) => [role, allowedActions(machine, order!.status, role)]))
      : {},
  );
  setHandler(createOrderUpdate, async () => {
    await condition(() => order !== undefined || rejection !== undefined);
    if (rejection) throw rejection;
    return current();
  });
  setHandler(orderActionUpdate, (request) => lock.run(() => perform(request)), { validator: validate });
  setHandler(returnReceivedSignal, ({ returnId }) => {
    if (openReturns.has(returnId) && !returnsToRefund.includes(returnId)) returnsToRefund.push(returnId);
  });
  setHandler(returnClosedSignal, ({ returnId }) => {
    openReturns.delete(returnId);
    if (order) publish();
  });

  // Input that skipped the API's schemas and cannot be stored is refused before anything is held.
  const unstorable = placeOrderInputProblem(input);
  if (unstorable && patched('refuse-unstorable-input')) {
    rejection = invalidInput('the order', unstorable);
    await condition(allHandlersFinished);
    return { orderId: input.orderId, status: 'REJECTED' };
  }

  try {
    const placed = await quick.placeOrder({ ...input, now: new Date().toISOString() });
    order = {
      ...placed,
      id: input.orderId,
      type: input.type,
      customerId: input.customerId,
      status: machine.initial,
      couponCode: input.couponCode ?? null,
      shippingAddress: input.shippingAddress ?? null,
      shipment: null,
      delivery: null,
      updatedAt: placed.createdAt,
    };
  } catch (err) {
    rejection = asApplicationFailure(err);
    await condition(allHandlersFinished);
    return { orderId: input.orderId, status: 'REJECTED' };
  }
  publish();

  while (!isTerminal(machine, current().status) || returnsToRefund.length > 0) {
    if (returnsToRefund.length > 0) {
      const returnId = returnsToRefund.shift()!;
      await lock.run(() => refundReturn(returnId));
      continue;
    }
    const state = machine.states[current().status]!;
    const seq = current().history.length;
    const unchanged = () => current().history.length === seq;
    const woken = () => !unchanged() || returnsToRefund.length > 0;
    if (state.auto) {
      const action = state.auto;
      await lock.run(async () => (unchanged() ? apply(action, 'system', null) : undefined));
    } else if (state.after) {
      const { timer, action, reason } = state.after;
      const wait = deadlineOf(timer) - Date.now();
      const moved =
        wait > 0
          ? await condition(woken, wait, { summary: `${timer}: ${action} if still ${current().status}` })
          : false;
      if (moved) continue;
      // The after-sales window has closed, but a return in progress is settled first.
      if (action === 'complete' && openReturns.size > 0) {
        await condition(() => openReturns.size === 0 || woken());
        continue;
      }
      await lock.run(async () => (unchanged() ? apply(action, 'system', null, reason) : undefined));
    } else {
      await condition(woken);
    }
  }
  await condition(allHandlersFinished);
  return { orderId: input.orderId, status: current().status };
}

function asApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  // Through every layer: an activity of a child workflow (a modification's repricing) is two deep.
  let cause: unknown = err;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    // A transient error that outlived its retries is an outage, not a refusal.
    if (
      !cause.nonRetryable &&
      cause.type !== FailureType.Business &&
      cause.type !== FailureType.PaymentDeclined
    ) {
      return ApplicationFailure.create({
        type: FailureType.Unavailable,
        message: cause.message,
        nonRetryable: true,
      });
    }
    return cause;
  }
  return ApplicationFailure.create({
    type: FailureType.Unavailable,
    message: err instanceof Error ? err.message : String(err),
    nonRetryable: true,
  });
}

function isOutOfStock(failure: ApplicationFailure): boolean {
  const detail = failure.details?.[0] as { code?: string } | undefined;
  return failure.type === FailureType.Business && detail?.code === 'OUT_OF_STOCK';
}
