/** Reading orders back from PostgreSQL, the order center's source of truth for queries. */
import type { Knex } from 'knex';
import type { OrderType } from '../../domain/machines';
import type { HistoryEntry, OrderLine, OrderState } from '../../domain/order';

interface OrderRow {
  id: string;
  type: OrderType;
  customer_id: string;
  status: string;
  currency: string;
  subtotal: number;
  discount: number;
  shipping: number;
  total: number;
  paid: number;
  refunded: number;
  payment_deadline: Date | null;
  coupon_code: string | null;
  shipping_address: OrderState['shippingAddress'];
  details: {
    discounts?: OrderState['discounts'];
    presale?: OrderState['presale'];
    shipment?: OrderState['shipment'];
    delivery?: OrderState['delivery'];
    payments?: OrderState['payments'];
  };
  created_at: Date;
  updated_at: Date;
}

export function rowToOrder(row: OrderRow, items: OrderLine[], history: HistoryEntry[]): OrderState {
  return {
    id: row.id,
    type: row.type,
    customerId: row.customer_id,
    status: row.status,
    currency: row.currency.trim(),
    items,
    amounts: {
      subtotal: row.subtotal,
      discount: row.discount,
      shipping: row.shipping,
      total: row.total,
      paid: row.paid,
      refunded: row.refunded,
    },
    discounts: row.details.discounts ?? [],
    presale: row.details.presale ?? null,
    shipment: row.details.shipment ?? null,
    delivery: row.details.delivery ?? null,
    payments: row.details.payments ?? [],
    couponCode: row.coupon_code,
    shippingAddress: row.shipping_address,
    paymentDeadline: row.payment_deadline ? row.payment_deadline.toISOString() : '',
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    history,
  };
}

export async function loadOrder(db: Knex, id: string): Promise<OrderState | null> {
  const row: OrderRow | undefined = await db('orders').where('id', id).first();
  if (!row) return null;
  const items = await db('order_items').where('order_id', id).orderBy('line');
  const history = await db('order_history').where('order_id', id).orderBy('seq');
  return rowToOrder(
    row,
    items.map((i) => ({
      sku: i.sku,
      name: i.name,
      quantity: i.quantity,
      unitPrice: i.unit_price,
      discount: i.discount,
      total: i.total,
      refundedQuantity: i.refunded_quantity,
      inventoryStrategy: i.inventory_strategy,
    })),
    history.map((h) => ({
      seq: h.seq,
      from: h.from,
      action: h.action,
      to: h.to,
      actor: h.actor,
      at: new Date(h.at).toISOString(),
      ...(h.reason ? { reason: h.reason } : {}),
    })),
  );
}

/** The order's charges still pending at the provider, as its workflow last recorded them. */
export async function pendingPaymentIds(db: Knex, orderId: string): Promise<string[]> {
  const row: { payments: { id: string; status: string }[] | null } | undefined = await db('orders')
    .where('id', orderId)
    .first(db.raw(`details->'payments' AS payments`));
  return (row?.payments ?? [])
    .filter((p) => p.status === 'processing' || p.status === 'requires_action')
    .map((p) => p.id);
}
