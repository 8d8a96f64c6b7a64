/**
 * The events the order center announces (issue 22): their catalogue, which ones a recorded
 * transition, a refund or a return step stands for, and the order's snapshot every event carries.
 * Pure: the outbox (services/events) writes them in the statement that records what they announce.
 */
import {
  paymentStatusOf,
  paymentsView,
  type HistoryEntry,
  type OrderPayment,
  type OrderState,
} from './order';

export const EVENT_TYPES = [
  'order.created',
  'order.imported',
  'order.status_changed',
  'order.paid',
  'order.cancelled',
  'order.completed',
  'order.refunded',
  'order.edited',
  'payment.pending',
  'payment.authorized',
  'payment.succeeded',
  'payment.failed',
  'payment.voided',
  'shipment.shipped',
  'shipment.delivered',
  'shipment.returned',
  'refund.succeeded',
  'refund.owed',
  'return.requested',
  'return.approved',
  'return.escalated',
  'return.rejected',
  'return.received',
  'return.closed',
  'claim.requested',
  'claim.approved',
  'claim.rejected',
  'claim.refunded',
  'claim.replaced',
  'claim.closed',
  'exchange.requested',
  'exchange.approved',
  'exchange.rejected',
  'exchange.paid',
  'exchange.received',
  'exchange.shipped',
  'exchange.completed',
  'exchange.cancelled',
  'exchange.closed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One event as the outbox writes it: `source` names what announced it, so a retry writes nothing twice. */
export interface NewEvent {
  type: EventType;
  source: string;
  data: Record<string, unknown>;
}

/** The order as every event shows it: what GET /v1/orders/:id shows, without history, labels or actions. */
export function orderSnapshot(order: Omit<OrderState, 'history'>) {
  return {
    id: order.id,
    type: order.type,
    customerId: order.customerId,
    channel: order.channel ?? 'web',
    status: order.status,
    currency: order.currency,
    items: order.items.map((i) => ({
      sku: i.sku,
      name: i.name,
      quantity: i.quantity,
      unitPrice: i.unitPrice,
      discount: i.discount,
      total: i.total,
      refundedQuantity: i.refundedQuantity,
      ...(i.refundedAmount !== undefined ? { refundedAmount: i.refundedAmount } : {}),
      ...(i.exchangedQuantity
        ? { exchangedQuantity: i.exchangedQuantity, exchangedAmount: i.exchangedAmount }
        : {}),
    })),
    // One shape whichever source answers (the workflow's state, the order center's row).
    amounts: {
      ...order.amounts,
      authorized: order.amounts.authorized ?? 0,
      released: order.amounts.released ?? 0,
    },
    discounts: order.discounts,
    couponCode: order.couponCode,
    shippingAddress: order.shippingAddress,
    shipment: order.shipment,
    shipments: order.shipments ?? [],
    fulfilments: order.fulfilments ?? [],
    ...(order.deliveredAt ? { deliveredAt: order.deliveredAt } : {}),
    ...(order.afterSalesUntil ? { afterSalesUntil: order.afterSalesUntil } : {}),
    delivery: order.delivery,
    presale: order.presale,
    paymentDeadline: order.paymentDeadline,
    paymentStatus: paymentStatusOf(order),
    payments: paymentsView(order),
    ...(order.attention ? { attention: order.attention } : {}),
    allocation: order.allocation ?? [],
    ...(order.imported
      ? { imported: { externalId: order.imported.externalId, placedAt: order.imported.placedAt } }
      : {}),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/** The role an actor acted in (`merchant:m1` → `merchant`): receivers learn the role, never a staff id. */
const roleOf = (actor: string) => actor.split(':')[0]!;

/** A recorded history entry's events: every transition, and what it means when it means more. */
export function transitionEvents(entry: HistoryEntry, order: Omit<OrderState, 'history'>): NewEvent[] {
  const data = {
    transition: {
      from: entry.from,
      to: entry.to,
      action: entry.action,
      actor: roleOf(entry.actor),
      ...(entry.reason ? { reason: entry.reason } : {}),
    },
    order: orderSnapshot(order),
  };
  const types: EventType[] = [];
  if (entry.from === null) types.push('order.created');
  else types.push('order.status_changed');
  if (entry.action === 'import') types.push('order.imported');
  if (entry.from !== null && entry.to !== entry.from) {
    if (entry.to === 'PAID') types.push('order.paid');
    if (entry.to === 'CANCELLED') types.push('order.cancelled');
    if (entry.to === 'COMPLETED') types.push('order.completed');
    if (entry.to === 'REFUNDED') types.push('order.refunded');
  }
  if (entry.action === 'ship' || entry.action === 'ship_part') types.push('shipment.shipped');
  if (entry.action === 'exchange_ship' || entry.action === 'claim_ship') types.push('shipment.shipped');
  if (entry.action === 'edit') types.push('order.edited');
  if (entry.action === 'parcel_delivered' || entry.action === 'recall_delivered_late')
    types.push('shipment.delivered');
  if (
    entry.action === 'parcel_returned' ||
    entry.action === 'recall_returned_late' ||
    entry.reason === 'returned to sender'
  )
    types.push('shipment.returned');
  return types.map((type) => ({ type, source: `history:${entry.seq}:${type}`, data }));
}

/** The event a payment's status stands for: a pending one (processing, a 3-D Secure step) is `payment.pending`. */
export const PAYMENT_EVENTS: Readonly<Record<OrderPayment['status'], EventType>> = {
  processing: 'payment.pending',
  requires_action: 'payment.pending',
  authorized: 'payment.authorized',
  succeeded: 'payment.succeeded',
  failed: 'payment.failed',
  voided: 'payment.voided',
};

/**
 * A payment in one status, as the event it stands for: what the order already showed. Both pending
 * statuses are one event, so a payment that went from one to the other has shown it.
 */
export const paymentKey = (p: Pick<OrderPayment, 'id' | 'status'>) => `${p.id}:${PAYMENT_EVENTS[p.status]}`;

/**
 * Each payment of the order in its present status, as an event named by (payment, event type),
 * with its `key`: the writers announce only the payments whose status the order did not show
 * before (services/orders/record-transition.ts), and the outbox writes each source once, so a
 * payment announces each step once, whichever write saw it first.
 */
export function paymentEvents(order: Omit<OrderState, 'history'>): (NewEvent & { key: string })[] {
  const snapshot = orderSnapshot(order);
  return snapshot.payments.map((payment) => {
    const type = PAYMENT_EVENTS[payment.status];
    return {
      type,
      source: `payment:${payment.id}:${type}`,
      key: paymentKey(payment),
      data: { payment, order: snapshot },
    };
  });
}

/** A return's step, as events: each status once; a rejected or refunded return is closed too. */
export function returnEvents(ret: { id: string; status: string }, data: Record<string, unknown>): NewEvent[] {
  const types: Partial<Record<string, EventType[]>> = {
    REQUESTED: ['return.requested'],
    APPROVED: ['return.approved'],
    ESCALATED: ['return.escalated'],
    REJECTED: ['return.rejected', 'return.closed'],
    CLOSED: ['return.closed'],
    RECEIVED: ['return.received'],
    REFUNDED: ['return.closed'],
  };
  return (types[ret.status] ?? []).map((type) => ({ type, source: `return:${ret.id}:${type}`, data }));
}

/** A claim's step, as events: each status once; a rejected, refunded or replaced claim is closed too. */
export function claimEvents(
  claim: { id: string; status: string },
  data: Record<string, unknown>,
): NewEvent[] {
  const types: Partial<Record<string, EventType[]>> = {
    REQUESTED: ['claim.requested'],
    APPROVED: ['claim.approved'],
    REJECTED: ['claim.rejected', 'claim.closed'],
    REFUNDED: ['claim.refunded', 'claim.closed'],
    REPLACED: ['claim.replaced', 'claim.closed'],
  };
  return (types[claim.status] ?? []).map((type) => ({ type, source: `claim:${claim.id}:${type}`, data }));
}

/** An exchange's step, as events: one per step once, `exchange.paid` when its difference is paid, `exchange.completed` at the end. */
export function exchangeEvents(
  exchange: { id: string; status: string; payment?: { status: string } },
  action: string,
  data: Record<string, unknown>,
): NewEvent[] {
  const byAction: Partial<Record<string, EventType>> = {
    request: 'exchange.requested',
    approve: 'exchange.approved',
    reject: 'exchange.rejected',
    receive: 'exchange.received',
    ship: 'exchange.shipped',
    cancel: 'exchange.cancelled',
    close: 'exchange.closed',
  };
  const types: EventType[] = [];
  if (byAction[action]) types.push(byAction[action]!);
  if ((action === 'pay' || action === 'settle_payment') && exchange.payment?.status === 'succeeded')
    types.push('exchange.paid');
  if (exchange.status === 'COMPLETED') types.push('exchange.completed');
  return types.map((type) => ({ type, source: `exchange:${exchange.id}:${type}`, data }));
}

/** Whether a subscription to `subscribed` hears an event of `type`. */
export const hears = (subscribed: readonly string[], type: string) =>
  subscribed.includes('*') || subscribed.includes(type);
