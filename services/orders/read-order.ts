/** Reading orders back from PostgreSQL, the order center's source of truth for queries. */
import type { Knex } from 'knex';
import type { OrderType } from '../../domain/machines';
import type { HistoryEntry, OrderLine, OrderState } from '../../domain/order';

/** An `orders` row as PostgreSQL returns it. */
export interface OrderRow {
  id: string;
  type: OrderType;
  customer_id: string;
  channel: string;
  status: string;
  currency: string;
  subtotal: number;
  discount: number;
  shipping: number;
  total: number;
  paid: number;
  refunded: number;
  authorized: number;
  released: number;
  payment_deadline: Date | null;
  coupon_code: string | null;
  shipping_address: OrderState['shippingAddress'];
  details: {
    discounts?: OrderState['discounts'];
    presale?: OrderState['presale'];
    shipment?: OrderState['shipment'];
    delivery?: OrderState['delivery'];
    payments?: OrderState['payments'];
    attention?: OrderState['attention'];
    allocation?: OrderState['allocation'];
    shipments?: OrderState['shipments'];
    deliveredAt?: string;
    afterSalesUntil?: string;
    fulfilments?: OrderState['fulfilments'];
    imported?: OrderState['imported'];
  };
  created_at: Date;
  updated_at: Date;
}

export function rowToOrder(row: OrderRow, items: OrderLine[], history: HistoryEntry[]): OrderState {
  return {
    id: row.id,
    type: row.type,
    customerId: row.customer_id,
    channel: row.channel,
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
      // Only orders that ever held a payment say so, as the workflow's own state does (one whose
      // hold was captured keeps what was released from it before).
      ...(Number(row.authorized) > 0 ||
      Number(row.released) > 0 ||
      row.details.payments?.some((p) => p.captureBefore)
        ? { authorized: Number(row.authorized), released: Number(row.released) }
        : {}),
    },
    discounts: row.details.discounts ?? [],
    presale: row.details.presale ?? null,
    shipment: row.details.shipment ?? null,
    delivery: row.details.delivery ?? null,
    payments: row.details.payments ?? [],
    ...(row.details.attention ? { attention: row.details.attention } : {}),
    allocation: row.details.allocation ?? [],
    shipments: row.details.shipments ?? [],
    ...(row.details.deliveredAt ? { deliveredAt: row.details.deliveredAt } : {}),
    ...(row.details.afterSalesUntil ? { afterSalesUntil: row.details.afterSalesUntil } : {}),
    ...(row.details.fulfilments ? { fulfilments: row.details.fulfilments } : {}),
    ...(row.details.imported ? { imported: row.details.imported } : {}),
    couponCode: row.coupon_code,
    shippingAddress: row.shipping_address,
    paymentDeadline: row.payment_deadline ? row.payment_deadline.toISOString() : '',
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    history,
  };
}

interface ItemRow {
  sku: string;
  name: string;
  quantity: number;
  unit_price: number;
  discount: number;
  total: number;
  refunded_quantity: number;
  refunded_amount: string | number | null;
  exchanged_quantity?: number;
  exchanged_amount?: string | number;
  inventory_strategy: OrderLine['inventoryStrategy'];
}

/** An `order_history` row as JSON: the entry, with a null reason where it has none. */
type HistoryRow = Omit<HistoryEntry, 'reason'> & { reason: string | null };

/**
 * Orders with their lines and history, in one statement whatever the number of orders: the lines
 * and the history come as JSON arrays beside each row. Filter, order and limit the builder.
 */
export function selectOrders(db: Knex): Knex.QueryBuilder {
  return db('orders as o').select(
    'o.*',
    db.raw(
      `(SELECT COALESCE(json_agg(i ORDER BY i.line), '[]') FROM order_items i WHERE i.order_id = o.id) AS lines`,
    ),
    db.raw(
      `(SELECT COALESCE(json_agg(h ORDER BY h.seq), '[]') FROM order_history h WHERE h.order_id = o.id) AS entries`,
    ),
  );
}

/** A row of `selectOrders` as the order it is. */
export function toOrder(row: OrderRow & { lines: ItemRow[]; entries: HistoryRow[] }): OrderState {
  return rowToOrder(
    row,
    row.lines.map((i) => ({
      sku: i.sku,
      name: i.name,
      quantity: Number(i.quantity),
      unitPrice: Number(i.unit_price),
      discount: Number(i.discount),
      total: Number(i.total),
      refundedQuantity: Number(i.refunded_quantity),
      ...(i.refunded_amount === null || i.refunded_amount === undefined
        ? {}
        : { refundedAmount: Number(i.refunded_amount) }),
      ...(Number(i.exchanged_quantity ?? 0) > 0
        ? { exchangedQuantity: Number(i.exchanged_quantity), exchangedAmount: Number(i.exchanged_amount) }
        : {}),
      inventoryStrategy: i.inventory_strategy,
    })),
    row.entries.map((h) => ({
      seq: Number(h.seq),
      from: h.from,
      action: h.action,
      to: h.to,
      actor: h.actor,
      at: new Date(h.at).toISOString(),
      ...(h.reason ? { reason: h.reason } : {}),
    })),
  );
}

/** An order's row without its lines and history: what deciding who may act on it, and how, needs. */
export type OrderHead = Pick<OrderState, 'id' | 'type' | 'status' | 'customerId' | 'channel'>;

export async function loadOrderHead(db: Knex, id: string): Promise<OrderHead | null> {
  const row: Pick<OrderRow, 'id' | 'type' | 'status' | 'customer_id' | 'channel'> | undefined = await db(
    'orders',
  )
    .where('id', id)
    .first('id', 'type', 'status', 'customer_id', 'channel');
  return row
    ? { id: row.id, type: row.type, status: row.status, customerId: row.customer_id, channel: row.channel }
    : null;
}

export async function loadOrder(db: Knex, id: string): Promise<OrderState | null> {
  const row = await selectOrders(db).where('o.id', id).first();
  return row ? toOrder(row) : null;
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
