/**
 * The rules an action on an order must pass before the workflow takes it, and when its timers
 * fire: pure functions of the machine and the order, so the workflow's validator, its handler
 * (again, under the lock) and the unit tests all ask the same questions.
 */
import { decide, type Effect, type OrderMachine, type TimerName } from './machine';
import { WAITING_FULFILMENT } from './fulfilment';
import { FailureType } from './errors';
import { isPending, type ActionRequest, type LineQuantity, type OrderPolicy, type OrderState } from './order';
import { planGoodwill, planRefund, RefundError } from './refunds';
import { planParcel } from './shipping';
import { businessRefusal, invalidInput, notNow, refusalFor, type Refusal } from './refusals';
import { allowedActions } from './machine';
import { CLAIM_KINDS, CLAIM_RESOLUTIONS } from './claims';
import { exchangeCredits } from './exchanges';
import { editVersion } from './edits';
import { ID_PATTERN } from './text';
import type { Actor } from './roles';

/** Units promised to open returns, by SKU, leaving out one return (the one being refunded). */
export function unitsHeld(
  openReturns: ReadonlyMap<string, { items: readonly LineQuantity[] }>,
  except?: string,
): Record<string, number> {
  const held: Record<string, number> = {};
  for (const [id, r] of openReturns)
    if (id !== except) for (const i of r.items) held[i.sku] = (held[i.sku] ?? 0) + i.quantity;
  return held;
}

/**
 * The machine action a request stands for: a refund of everything left closes the order as
 * REFUNDED (`refund_all`, `return_refund_all`). A refund that cannot be planned is refused here
 * only if this caller could refund at all in this state; otherwise the machine answers.
 */
export function resolveAction(
  machine: OrderMachine,
  order: OrderState,
  request: ActionRequest,
  actor: Actor,
  held: Record<string, number>,
): { action: string } | { refusal: Refusal } {
  if (request.action === 'ship') {
    // A parcel of some of what is left is a partial shipment; of all of it, the shipment.
    const parcel = planParcel(order, request.shipment?.items);
    if (!parcel.ok)
      return decide(machine, order.status, 'ship', actor).ok
        ? { refusal: businessRefusal(parcel.code, parcel.message, parcel.details) }
        : { action: 'ship' };
    return { action: parcel.completes ? 'ship' : 'ship_part' };
  }
  if (!['refund', 'return_refund', 'claim_refund'].includes(request.action))
    return { action: request.action };
  try {
    // An amount without units never refunds the whole order: the goods stay the customer's.
    const plan =
      request.refund?.amount !== undefined
        ? planGoodwill(order.items, request.refund.amount)
        : planRefund(order.items, order.amounts.shipping, request.refund?.items, held);
    return { action: plan.completesOrder ? `${request.action}_all` : request.action };
  } catch (err) {
    if (err instanceof RefundError && actor !== 'system') {
      if (decide(machine, order.status, request.action, actor).ok)
        return { refusal: businessRefusal(err.code, err.message, err.details) };
    }
    return { action: request.action };
  }
}

/** Returns, claims and exchanges: money back for goods delivered. */
const RETURNS = new Set([
  'request_return',
  'return_refund',
  'return_refund_all',
  'open_claim',
  'claim_refund',
  'claim_refund_all',
  'open_exchange',
  'exchange_refund',
]);

/**
 * Why the machine's `edit` cannot be taken on what this order holds, or null: goods that left or
 * a warehouse that has them, a payment only held, units refunded or exchanged (an edit rewrites
 * the lines).
 */
export function editBlocked(
  order: Pick<OrderState, 'amounts' | 'items' | 'shipments' | 'fulfilments' | 'payments'>,
): string | null {
  if ((order.shipments ?? []).length > 0) return 'goods have left: return them instead';
  if ((order.fulfilments ?? []).length > 0)
    return 'a warehouse has the fulfilment: the order can no longer change';
  if ((order.amounts.authorized ?? 0) > 0)
    return 'the payment is only held: it is captured as it was authorised';
  if ((order.payments ?? []).some(isPending))
    return 'a payment of this order is pending: wait for its outcome';
  if (
    order.items.some((l) => l.refundedQuantity > 0 || l.refundedAmount !== undefined || l.exchangedQuantity)
  )
    return 'units of it were refunded: edit an order whose lines are whole';
  return null;
}

/**
 * The payment is only held (captured at shipment): a refund shrinks the hold, but nothing was
 * taken to pay for goods sent back (a capture refused after shipment is support's to settle first).
 */
const holdsPayment = (order: Pick<OrderState, 'amounts'>) => (order.amounts.authorized ?? 0) > 0;

/** Effects that charge the customer: none may start while another charge of the order is pending. */
export const CHARGES = new Set<Effect>(['capturePayment', 'captureDeposit', 'captureBalance']);

/** What the order holds that `heldBack` asks about. */
export type HeldOrder = Pick<
  OrderState,
  'status' | 'amounts' | 'items' | 'shipments' | 'fulfilments' | 'payments' | 'attention'
>;

/** What only the workflow knows (an order's view leaves each at its default). */
export interface HeldContext {
  /** The request refunds units (an amount alone, goodwill, does not); the `_all` actions always do. */
  refundsUnits?: boolean;
  /** Refunds of units wait for the warehouse in every state (orders before the rule: only partly shipped). */
  refundsWaitForWarehouse?: boolean;
  /**
   * The action of the charge pending now, null when none is: the workflow knows it (an edit's
   * holds everything back). Unknown (an order's view): a pending payment of the order stands for one.
   */
  pendingFor?: string | null;
  /**
   * The order's after-sales window has closed and it completes once its open cases are settled:
   * no new case opens meanwhile (the workflow knows it; an order's view does not say).
   */
  afterSalesClosed?: boolean;
  /** Refunds wait while a capture of the held payment has no answer (orders before the rule: they shrink the hold). */
  refundsWaitForCapture?: boolean;
  /**
   * A capture of the held payment got no answer and is to be tried again: the workflow knows it
   * (whatever flag the order shows); an order's view reads it from the order's `attention`.
   */
  captureUnanswered?: boolean;
}

/** What opens a new after-sales case: taken only while the after-sales window is open. */
const OPENS_CASE = new Set(['request_return', 'open_claim', 'open_exchange']);

/**
 * Why what the order holds keeps back an action its machine allows, or null: a warehouse ships
 * its parcels; a refund of units waits for the parcels a warehouse is still picking or packing
 * (they would ship anyway); a parcel delivered, or shipped by hand, is not recalled by a cancel;
 * while a charge is pending nothing charges again or changes what it pays for (an edit's: nothing
 * but a cancel). One rule for the workflow's validator and the actions an order lists.
 */
export function heldBack(
  machine: OrderMachine,
  order: HeldOrder,
  action: string,
  actor: Actor,
  context: HeldContext = {},
): string | null {
  const fulfilments = order.fulfilments ?? [];
  if (
    (action === 'ship' || action === 'ship_part') &&
    fulfilments.some((f) => f.status !== 'refused' && f.status !== 'cancelled')
  )
    return 'a warehouse is fulfilling this order: it ships the parcels';
  const refundsUnits = action === 'refund_all' || (action === 'refund' && (context.refundsUnits ?? false));
  if (
    refundsUnits &&
    ((context.refundsWaitForWarehouse ?? true) || order.status === 'PARTIALLY_SHIPPED') &&
    fulfilments.some((f) => WAITING_FULFILMENT.includes(f.status))
  )
    return 'a warehouse is still fulfilling this order: refund its units once they have shipped, or cancel it';
  // A capture of the held payment that got no answer (tried again every PAYMENT_CAPTURE_RETRY)
  // may have taken the money: a refund now would only shrink a hold that may be gone, telling the
  // customer of money given back that never was. Refunds wait until the capture's outcome is known.
  const captureUnanswered =
    context.captureUnanswered ??
    (holdsPayment(order) &&
      order.attention?.code === 'capture_failed' &&
      (order.attention.detail === 'no_answer' || order.attention.detail === 'hold_not_renewed'));
  if (
    (action === 'refund' || action === 'refund_all') &&
    (context.refundsWaitForCapture ?? true) &&
    captureUnanswered
  )
    return 'a capture of the held payment got no answer: refunds wait until its outcome is known';
  if (context.afterSalesClosed && OPENS_CASE.has(action))
    return 'the after-sales window has closed: the order completes once its open cases are settled';
  if (action === 'cancel') {
    const away = (order.shipments ?? []).find(
      (s) => s.status === 'delivered' || (s.location === null && s.status !== 'delivery_failed'),
    );
    if (away)
      return away.status === 'delivered'
        ? 'part of this order has been delivered: return it instead'
        : 'a parcel shipped by hand has left: return it once it arrives';
  }
  // Unknown: a charge pending where the order may be paid is its payment; elsewhere, an edit's.
  const pending =
    context.pendingFor !== undefined
      ? context.pendingFor
      : (order.payments ?? []).some(isPending)
        ? machine.transitions.some((t) => t.from === order.status && t.action === 'pay')
          ? 'pay'
          : 'edit'
        : null;
  if (pending !== null && action !== 'cancel') {
    const decision = decide(machine, order.status, action, actor);
    const effect = decision.ok ? decision.transition.effect : undefined;
    if (action === 'modify' || action === 'edit' || pending === 'edit' || (effect && CHARGES.has(effect)))
      return 'a payment of this order is pending: wait for its outcome';
  }
  if (action === 'edit') return editBlocked(order);
  return null;
}

/**
 * What `role` may do to the order now: its machine's actions, less what the order's goods and
 * payments hold back (`heldBack`), less returns while the payment is only held.
 */
export function actionsNow(
  machine: OrderMachine,
  order: HeldOrder,
  role: Actor,
  context: Omit<HeldContext, 'refundsUnits'> = {},
) {
  return allowedActions(machine, order.status, role).filter(
    (a) => !(holdsPayment(order) && RETURNS.has(a)) && heldBack(machine, order, a, role, context) === null,
  );
}

/**
 * Why the order cannot take this request now, or null: the machine's answer for the caller's
 * role, then the request's own rules (returnable units, what a modification may change).
 */
export function checkAction(
  machine: OrderMachine,
  order: OrderState,
  request: ActionRequest,
  openReturns: ReadonlyMap<string, { items: readonly LineQuantity[] }>,
  context: Omit<HeldContext, 'refundsUnits'> = {},
): Refusal | null {
  const refusal = firstRefusal(machine, order, request, openReturns);
  // Its allowedActions are what the order lists now (`actionsNow`), not the machine's for the
  // state, so a 409 and the order's view agree.
  // A 403's list stays the machine's: the role may never take the action, whatever the order holds.
  if (!refusal || refusal.type === FailureType.Forbidden || !Array.isArray(refusal.details?.allowedActions))
    return refusal;
  const listed = actionsNow(machine, order, request.actor.role, context);
  return { ...refusal, details: { ...refusal.details, allowedActions: listed } };
}

function firstRefusal(
  machine: OrderMachine,
  order: OrderState,
  request: ActionRequest,
  openReturns: ReadonlyMap<string, { items: readonly LineQuantity[] }>,
): Refusal | null {
  const role = request.actor.role;
  const resolved = resolveAction(
    machine,
    order,
    request,
    role,
    unitsHeld(openReturns, request.refund?.refundId),
  );
  if ('refusal' in resolved) return resolved.refusal;
  const decision = decide(machine, order.status, resolved.action, role);
  if (!decision.ok)
    return refusalFor(
      decision,
      { kind: 'order', type: machine.type, status: order.status },
      request.action,
      role,
    );
  if (holdsPayment(order) && RETURNS.has(resolved.action))
    return notNow(
      'the payment was never captured: support must settle it before a return or claim',
      order.status,
      actionsNow(machine, order, role),
    );
  if (resolved.action === 'open_claim') {
    const claim = request.claimRequest;
    // Input that skipped the API's schemas: named, never quoted.
    if (
      !claim ||
      !ID_PATTERN.test(String(claim.claimId)) ||
      !CLAIM_KINDS.includes(claim.kind!) ||
      !CLAIM_RESOLUTIONS.includes(claim.resolution!) ||
      !Array.isArray(claim.items) ||
      new Set(claim.items.map((i) => i?.sku)).size !== claim.items.length
    )
      return invalidInput('the claim', 'claimRequest');
  }
  if (resolved.action === 'edit') {
    const edit = request.editRequest;
    const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    // Input that skipped the API's schemas: named, never quoted.
    if (
      !edit ||
      !ID_PATTERN.test(String(edit.editId)) ||
      ![edit.version, edit.owed, edit.refund].every(count)
    )
      return invalidInput('the edit', 'editRequest');
    const blocked = editBlocked(order);
    if (blocked) return notNow(blocked, order.status, actionsNow(machine, order, role));
    if (edit.version !== editVersion(order.history))
      return {
        type: FailureType.IllegalTransition,
        message: 'the order changed since this edit was previewed: preview it again',
        details: {
          code: 'EDIT_STALE',
          status: order.status,
          allowedActions: actionsNow(machine, order, role),
        },
      };
    if (edit.owed > 0 && !request.paymentToken)
      return businessRefusal(
        'PAYMENT_TOKEN_REQUIRED',
        'the edit costs more than was paid: pay the difference',
        {
          owed: edit.owed,
        },
      );
  }
  if (resolved.action === 'open_exchange') {
    const exchange = request.exchangeRequest;
    const wellFormed = (items: unknown) =>
      Array.isArray(items) &&
      items.length > 0 &&
      new Set(items.map((i: LineQuantity) => i?.sku)).size === items.length;
    // Input that skipped the API's schemas: named, never quoted.
    if (
      !exchange ||
      !ID_PATTERN.test(String(exchange.exchangeId)) ||
      !wellFormed(exchange.returnItems) ||
      !wellFormed(exchange.newItems)
    )
      return invalidInput('the exchange', 'exchangeRequest');
    try {
      // Units shipped, not refunded, exchanged, nor held by a return or claim.
      exchangeCredits(order.items, exchange.returnItems!, unitsHeld(openReturns));
    } catch (err) {
      if (err instanceof RefundError) return businessRefusal(err.code, err.message, err.details);
      throw err;
    }
  }
  if (resolved.action === 'request_return' || resolved.action === 'open_claim') {
    try {
      // Units shipped, not refunded and not held by another return or claim.
      planRefund(
        order.items,
        order.amounts.shipping,
        (resolved.action === 'open_claim' ? request.claimRequest?.items : request.returnRequest?.items) ?? [],
        unitsHeld(openReturns),
      );
    } catch (err) {
      if (err instanceof RefundError) return businessRefusal(err.code, err.message, err.details);
      throw err;
    }
  }
  if (resolved.action === 'modify') return modificationProblem(machine, order, request);
  return null;
}

function modificationProblem(
  machine: OrderMachine,
  order: OrderState,
  request: ActionRequest,
): Refusal | null {
  const edits = machine.states[order.status]?.edits ?? [];
  const { items, shippingAddress } = request.modification ?? {};
  if (!items && !shippingAddress) return businessRefusal('MODIFICATION_NOT_ALLOWED', 'nothing to modify');
  const refused = [
    items && !edits.includes('items') && 'items',
    shippingAddress && !edits.includes('address') && 'the address',
  ].filter(Boolean);
  if (refused.length > 0)
    return notNow(
      `${refused.join(' and ')} can no longer change: the order is ${order.status}`,
      order.status,
      allowedActions(machine, order.status, request.actor.role),
    );
  for (const change of items ?? []) {
    const line = order.items.find((l) => l.sku === change.sku);
    if (!line)
      return businessRefusal('UNKNOWN_LINE', 'the order has no line of that SKU', { sku: change.sku });
    if (change.quantity > line.quantity)
      return businessRefusal(
        'MODIFICATION_NOT_ALLOWED',
        `quantities can only go down (to ${line.quantity} at most)`,
        {
          sku: change.sku,
        },
      );
  }
  return null;
}

/** The instant a timer fires, in ms since the epoch. */
/** Orders placed before the review hold had no review timeout of their own (none waits in review). */
const DEFAULT_REVIEW_TIMEOUT_MS = 86_400_000;

export function deadlineOf(timer: TimerName, order: OrderState, policy: OrderPolicy): number {
  // Measured from entering the state: self-loops (refunds, returns, modifications) do not restart a timer.
  const entered = [...order.history].reverse().find((h) => h.from !== h.to) ?? order.history[0]!;
  const enteredAt = Date.parse(entered.at);
  switch (timer) {
    case 'paymentTimeout':
      return Date.parse(order.paymentDeadline);
    case 'autoConfirmAfter':
      // From delivery when the carrier reported it, else from shipping.
      return (order.deliveredAt ? Date.parse(order.deliveredAt) : enteredAt) + policy.autoConfirmAfterMs;
    case 'afterSalesWindow':
      return enteredAt + policy.afterSalesWindowMs;
    case 'balanceStartsAt':
      return Date.parse(order.presale!.balanceStartsAt);
    case 'balanceEndsAt':
      return Date.parse(order.presale!.balanceEndsAt);
    case 'reviewTimeout':
      return enteredAt + (policy.reviewTimeoutMs ?? DEFAULT_REVIEW_TIMEOUT_MS);
    case 'returnDecisionWindow':
    case 'returnShipWindow':
      throw new Error(`${timer} is a return's timer, not an order's`);
  }
}
