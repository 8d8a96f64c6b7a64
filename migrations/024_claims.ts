import type { Knex } from 'knex';

/**
 * Claims (issue 21): goods that arrived damaged, went missing or were the wrong item, settled by a
 * refund or a replacement without anything coming back. Listed like returns (newest first, a
 * customer's own, by status or order).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('claims', (t) => {
    t.text('id').primary();
    t.text('order_id').notNullable().references('orders.id').index();
    t.text('customer_id').notNullable();
    t.text('status').notNullable();
    t.text('kind').notNullable();
    t.text('resolution').notNullable();
    t.jsonb('items').notNullable(); // [{ sku, quantity }]
    t.text('reason');
    t.bigInteger('refunded_amount');
    t.jsonb('shipment'); // { carrier, trackingNumber, shippedAt } of a replacement
    t.jsonb('history').notNullable();
    t.integer('history_seq').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['created_at', 'id']);
    t.index(['customer_id', 'created_at', 'id']);
    t.index(['status', 'created_at', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('claims');
}
