/**
 * The order list as CSV, one row per order or per order line, streamed in batches walked by the
 * list's own keyset (./list-orders.ts): memory stays flat however many orders match, and each
 * batch is one index range scan.
 */
import type { Knex } from 'knex';
import { csvRow } from '../../domain/csv';
import type { OrderRow } from './read-order';
import {
  cursorAfter,
  pageOf,
  whereOrders,
  type Cursor,
  type OrderFilters,
  type OrderSort,
} from './list-orders';

export type ExportRows = 'order' | 'line';

const ORDER_COLUMNS = [
  'orderId',
  'type',
  'customerId',
  'status',
  'paymentStatus',
  'currency',
  'subtotal',
  'discount',
  'shipping',
  'total',
  'paid',
  'refunded',
  'carrier',
  'trackingNumber',
  'createdAt',
  'updatedAt',
  // Last, so that readers of the columns before it by place are not moved; a customer id is its channel's.
  'channel',
] as const;

const LINE_COLUMNS = [
  'orderId',
  'customerId',
  'status',
  'currency',
  'createdAt',
  'line',
  'sku',
  'name',
  'quantity',
  'unitPrice',
  'discount',
  'total',
  'refundedQuantity',
  'channel',
] as const;

/** The columns an order's row of the export reads (./read-order.ts's row, less the JSON, plus the shipment). */
type ExportRow = Pick<
  OrderRow,
  | 'id'
  | 'type'
  | 'customer_id'
  | 'status'
  | 'currency'
  | 'subtotal'
  | 'discount'
  | 'shipping'
  | 'total'
  | 'paid'
  | 'refunded'
  | 'created_at'
  | 'updated_at'
  | 'channel'
> & { payment_status: string; carrier: string | null; tracking_number: string | null };

interface LineRow {
  id: string;
  customer_id: string;
  channel: string;
  status: string;
  currency: string;
  total: number;
  created_at: Date;
  line: number;
  sku: string;
  name: string;
  quantity: number;
  unit_price: number;
  line_discount: number;
  line_total: number;
  refunded_quantity: number;
}

/** The CSV text, a header first and then one chunk per batch. */
export async function* exportOrders(
  db: Knex,
  filters: OrderFilters & { sort?: OrderSort },
  rows: ExportRows,
  // A thousand orders a batch: small enough that the thread's capped heap (./export-thread.ts) holds two.
  batch = 1000,
): AsyncGenerator<string> {
  yield csvRow(rows === 'order' ? ORDER_COLUMNS : LINE_COLUMNS);
  let cursor: Cursor | undefined;
  for (;;) {
    const orders = pageOf(
      whereOrders(
        db,
        db('orders as o').select(
          'o.id',
          'o.type',
          'o.customer_id',
          'o.status',
          'o.payment_status',
          'o.currency',
          'o.subtotal',
          'o.discount',
          'o.shipping',
          'o.total',
          'o.paid',
          'o.refunded',
          'o.created_at',
          'o.updated_at',
          'o.channel',
          db.raw(`o.details->'shipment'->>'carrier' AS carrier`),
          db.raw(`o.details->'shipment'->>'trackingNumber' AS tracking_number`),
        ),
        filters,
      ),
      filters.sort,
      cursor,
      batch,
    );
    let last: { id: string; total: number; created_at: Date } | undefined;
    let count = 0;
    let text = '';
    if (rows === 'order') {
      const found: ExportRow[] = await orders;
      for (const o of found)
        text += csvRow([
          o.id,
          o.type,
          o.customer_id,
          o.status,
          o.payment_status,
          o.currency.trim(),
          o.subtotal,
          o.discount,
          o.shipping,
          o.total,
          o.paid,
          o.refunded,
          o.carrier,
          o.tracking_number,
          o.created_at.toISOString(),
          o.updated_at.toISOString(),
          o.channel,
        ]);
      count = found.length;
      last = found[found.length - 1];
    } else {
      // The batch's orders, then their lines, in the batch's order: one statement.
      const found: LineRow[] = await db
        .with('b', orders)
        .select(
          'b.id',
          'b.customer_id',
          'b.status',
          'b.currency',
          'b.total',
          'b.created_at',
          'i.line',
          'i.sku',
          'i.name',
          'i.quantity',
          'i.unit_price',
          'i.discount as line_discount',
          'i.total as line_total',
          'i.refunded_quantity',
          'b.channel',
        )
        .from('b')
        .join('order_items as i', 'i.order_id', 'b.id')
        .orderByRaw(`${orderOf(filters.sort)}, i.line`);
      for (const l of found) {
        text += csvRow([
          l.id,
          l.customer_id,
          l.status,
          l.currency.trim(),
          l.created_at.toISOString(),
          l.line,
          l.sku,
          l.name,
          l.quantity,
          l.unit_price,
          l.line_discount,
          l.line_total,
          l.refunded_quantity,
          l.channel,
        ]);
        if (l.id !== last?.id) count++;
        last = l;
      }
    }
    if (text) yield text;
    if (count < batch || !last) return;
    cursor = cursorAfter(last, filters.sort);
  }
}

/** The batch's order again, on its CTE's columns. */
function orderOf(sort: OrderSort = '-createdAt'): string {
  const column = sort.endsWith('total') ? 'b.total' : 'b.created_at';
  const direction = sort.startsWith('-') ? 'DESC' : 'ASC';
  return `${column} ${direction}, b.id ${direction}`;
}
