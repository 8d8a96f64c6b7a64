/**
 * Writes one transition to PostgreSQL: the history row and the order's new snapshot, in one
 * transaction. Idempotent and ordered by `seq`: a retry inserts nothing new, and a late retry of
 * an older transition never overwrites a newer snapshot.
 */
import type { Knex } from 'knex';
import type { HistoryEntry, OrderState } from '../../domain/order';

export type OrderSnapshot = Pick<
  OrderState,
  | 'status'
  | 'amounts'
  | 'items'
  | 'shipment'
  | 'delivery'
  | 'presale'
  | 'discounts'
  | 'paymentDeadline'
  | 'updatedAt'
  | 'shippingAddress'
>;

export async function recordTransition(
  db: Knex,
  orderId: string,
  entry: HistoryEntry,
  snapshot: OrderSnapshot,
): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('order_history')
      .insert({ order_id: orderId, ...entry, reason: entry.reason ?? null })
      .onConflict(['order_id', 'seq'])
      .ignore();
    const updated = await trx('orders')
      .where('id', orderId)
      .andWhere('history_seq', '<', entry.seq)
      .update({
        status: snapshot.status,
        ...snapshot.amounts,
        payment_deadline: snapshot.paymentDeadline || null,
        shipping_address: snapshot.shippingAddress ? JSON.stringify(snapshot.shippingAddress) : null,
        details: JSON.stringify({
          discounts: snapshot.discounts,
          presale: snapshot.presale,
          shipment: snapshot.shipment,
          delivery: snapshot.delivery,
        }),
        history_seq: entry.seq,
        updated_at: snapshot.updatedAt,
      });
    if (updated === 1) {
      for (const [line, item] of snapshot.items.entries()) {
        await trx('order_items').where({ order_id: orderId, line }).update({
          quantity: item.quantity,
          discount: item.discount,
          total: item.total,
          refunded_quantity: item.refundedQuantity,
        });
      }
    }
  });
}
