import type { Knex } from 'knex';
import type { OrderLine } from '../../domain/order';

/**
 * Writes an order's lines, replacing any it had (a modification rewrites them); `fresh` when the
 * order has none yet (placement, which found no order in its transaction), saving the delete.
 */
export async function writeOrderLines(
  trx: Knex.Transaction,
  orderId: string,
  items: OrderLine[],
  { fresh = false } = {},
): Promise<void> {
  if (!fresh) await trx('order_items').where('order_id', orderId).delete();
  await trx('order_items').insert(
    items.map((item, line) => ({
      order_id: orderId,
      line,
      sku: item.sku,
      name: item.name,
      quantity: item.quantity,
      unit_price: item.unitPrice,
      discount: item.discount,
      total: item.total,
      refunded_quantity: item.refundedQuantity,
      refunded_amount: item.refundedAmount ?? null,
      exchanged_quantity: item.exchangedQuantity ?? 0,
      exchanged_amount: item.exchangedAmount ?? 0,
      inventory_strategy: item.inventoryStrategy,
    })),
  );
}
