/**
 * One order, from placement to a terminal state, driven by its type's state machine
 * (domain/machines). Actions arrive as Updates, validated against the machine so a refused one
 * leaves no trace in the history; system actions come from states' `auto` and `after` rules.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { FailureType } from '../domain/errors';
import { allowedActions, decide, isTerminal, type TimerName } from '../domain/machine';
import { machineFor } from '../domain/machines';
import { actorName, type ActionRequest, type HistoryEntry, type OrderState } from '../domain/order';
import { ROLES, type Actor } from '../domain/roles';
import { store } from './activities';
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
import { describeForSupport } from './support-details';

export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderWorkflowResult> {
  const machine = machineFor(input.type);
  const lock = new Mutex();
  let order: OrderState | undefined;
  let rejection: ApplicationFailure | undefined;
  let paymentAttempts = 0;

  const current = (): OrderState => {
    if (!order) throw new Error('order not placed');
    return order;
  };

  /** The machine's answer, as the failure an Update returns; also re-checked under the lock. */
  function validate(request: ActionRequest): void {
    if (!order) {
      throw ApplicationFailure.create({
        type: FailureType.IllegalTransition,
        message: 'the order is still being placed',
        details: [{ status: 'PLACING', allowedActions: [] }],
      });
    }
    const decision = decide(machine, order.status, request.action, request.actor.role);
    if (!decision.ok) {
      throw ApplicationFailure.create({
        type: decision.reason === 'forbidden' ? FailureType.Forbidden : FailureType.IllegalTransition,
        message:
          decision.reason === 'forbidden'
            ? `a ${request.actor.role} may not ${request.action} a ${machine.type} order`
            : `cannot ${request.action} an order that is ${order.status}`,
        details: [{ status: order.status, allowedActions: decision.allowedActions }],
      });
    }
  }

  function deadlineOf(timer: TimerName): number {
    const o = current();
    const enteredAt = Date.parse(o.history[o.history.length - 1]!.at);
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
    setCurrentDetails(
      describeForSupport(machine, o, after ? new Date(deadlineOf(after.timer)).toISOString() : null),
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
    if (next?.action === 'expire') order.paymentDeadline = new Date(deadlineOf(next.timer)).toISOString();
    const { history: _history, id: _id, ...snapshot } = order;
    await store.recordTransition({ orderId: order.id, entry, snapshot });
    publish();
  }

  async function perform(request: ActionRequest): Promise<OrderState> {
    validate(request); // again, under the lock: another action may have moved the order meanwhile
    try {
      await apply(request.action, request.actor.role, request, request.reason);
    } catch (err) {
      const failure = asApplicationFailure(err);
      if (request.action === 'pay' && isOutOfStock(failure)) {
        await apply('stock_out', 'system', null, 'out_of_stock');
      }
      throw failure;
    }
    return current();
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

  try {
    const placed = await store.placeOrder({ ...input, now: new Date().toISOString() });
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

  while (!isTerminal(machine, current().status)) {
    const state = machine.states[current().status]!;
    const seq = current().history.length;
    const unchanged = () => current().history.length === seq;
    if (state.auto) {
      const action = state.auto;
      await lock.run(async () => (unchanged() ? apply(action, 'system', null) : undefined));
    } else if (state.after) {
      const { timer, action, reason } = state.after;
      const wait = deadlineOf(timer) - Date.now();
      const moved =
        wait > 0
          ? await condition(() => !unchanged(), wait, {
              summary: `${timer}: ${action} if still ${current().status}`,
            })
          : false;
      if (!moved)
        await lock.run(async () => (unchanged() ? apply(action, 'system', null, reason) : undefined));
    } else {
      await condition(() => !unchanged());
    }
  }
  await condition(allHandlersFinished);
  return { orderId: input.orderId, status: current().status };
}

function asApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const cause = err.cause;
    // A transient error that outlived its retries is an outage, not a refusal.
    if (
      !cause.nonRetryable &&
      cause.type !== FailureType.Business &&
      cause.type !== FailureType.PaymentDeclined
    ) {
      return ApplicationFailure.create({
        type: 'DependencyUnavailable',
        message: cause.message,
        nonRetryable: true,
      });
    }
    return cause;
  }
  return ApplicationFailure.create({
    type: 'DependencyUnavailable',
    message: err instanceof Error ? err.message : String(err),
    nonRetryable: true,
  });
}

function isOutOfStock(failure: ApplicationFailure): boolean {
  const detail = failure.details?.[0] as { code?: string } | undefined;
  return failure.type === FailureType.Business && detail?.code === 'OUT_OF_STOCK';
}
