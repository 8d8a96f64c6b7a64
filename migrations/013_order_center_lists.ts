import type { Knex } from 'knex';

/**
 * The order center's lists: an order's payment status as a column PostgreSQL keeps from the
 * amounts and payments (the same rule as domain/order.ts `paymentStatusOf`; a test holds the two
 * together), so the list can filter on it through an index; refunds and returns in creation order.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE orders ADD COLUMN payment_status text GENERATED ALWAYS AS (
      CASE
        WHEN details->'payments' @> '[{"status":"processing"}]'
          OR details->'payments' @> '[{"status":"requires_action"}]' THEN 'pending'
        WHEN paid = 0 THEN
          CASE WHEN authorized > 0 THEN 'authorized' WHEN released > 0 THEN 'refunded' ELSE 'unpaid' END
        WHEN refunded >= paid THEN 'refunded'
        WHEN refunded > 0 OR released > 0 THEN 'partially_refunded'
        WHEN paid < total THEN 'partially_paid'
        ELSE 'paid'
      END
    ) STORED`);
  await knex.schema.alterTable('orders', (t) => t.index(['payment_status', 'created_at', 'id']));
  // The list's other filters: orders with a line of a SKU, an order id's beginning (text_pattern_ops
  // serves LIKE 'prefix%' in any collation), a tracking number.
  await knex.schema.alterTable('order_items', (t) => t.index(['sku', 'order_id']));
  await knex.raw('CREATE INDEX orders_id_prefix_index ON orders (id text_pattern_ops)');
  await knex.raw(
    `CREATE INDEX orders_tracking_number_index ON orders ((details->'shipment'->>'trackingNumber'))`,
  );
  await knex.schema.alterTable('order_refunds', (t) => t.index(['created_at', 'id']));
  await knex.schema.alterTable('returns', (t) => {
    t.index(['created_at', 'id']);
    t.index(['customer_id', 'created_at', 'id']);
    t.index(['status', 'created_at', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('returns', (t) => {
    t.dropIndex(['created_at', 'id']);
    t.dropIndex(['customer_id', 'created_at', 'id']);
    t.dropIndex(['status', 'created_at', 'id']);
  });
  await knex.schema.alterTable('order_refunds', (t) => t.dropIndex(['created_at', 'id']));
  await knex.raw('DROP INDEX orders_tracking_number_index');
  await knex.raw('DROP INDEX orders_id_prefix_index');
  await knex.schema.alterTable('order_items', (t) => t.dropIndex(['sku', 'order_id']));
  await knex.schema.alterTable('orders', (t) => t.dropColumn('payment_status'));
}
