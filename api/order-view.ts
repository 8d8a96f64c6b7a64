/** An order as the contract shows it to one role: the status label and the actions that role may take. */
import { statusLabel } from '../domain/machine';
import { machineFor } from '../domain/machines';
import { paymentStatusOf, paymentsView, type OrderState } from '../domain/order';
import { actionsNow } from '../domain/order-actions';
import type { Role } from '../domain/roles';

/**
 * A history as `role` may read it: staff see who acted; a customer sees only in what role
 * (`merchant`, not `merchant:merch-1`), since staff ids are not theirs to know.
 */
export function historyFor<T extends { actor: string; seq?: number }>(history: T[], role: Role) {
  return history.map(({ seq: _seq, ...entry }) =>
    role === 'customer' ? { ...entry, actor: entry.actor.split(':')[0]! } : entry,
  );
}

export function orderView(order: OrderState, role: Role) {
  const machine = machineFor(order.type);
  return {
    id: order.id,
    type: order.type,
    customerId: order.customerId,
    status: order.status,
    statusLabel: statusLabel(machine, order.status, role),
    allowedActions: actionsNow(machine, order, role),
    currency: order.currency,
    items: order.items.map((i) => ({
      sku: i.sku,
      name: i.name,
      quantity: i.quantity,
      unitPrice: i.unitPrice,
      discount: i.discount,
      total: i.total,
      refundedQuantity: i.refundedQuantity,
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
    delivery: order.delivery,
    presale: order.presale,
    paymentDeadline: order.paymentDeadline,
    paymentStatus: paymentStatusOf(order),
    payments: paymentsView(order),
    ...(order.attention ? { attention: order.attention } : {}),
    allocation: order.allocation ?? [],
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
    history: historyFor(order.history, role),
  };
}
