import type { Knex } from 'knex';

/**
 * Fulfilments (issue 20): one request per order and stock location to the warehouse, as the
 * order center last heard of it. Stalled ones are found by status and last change.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fulfilments', (t) => {
    t.text('id').primary(); // `<orderId>:<location>`, the key the warehouse dedupes by
    t.text('order_id').notNullable().references('orders.id');
    t.text('location_id').notNullable().references('locations.id');
    t.jsonb('items').notNullable();
    t.text('status').notNullable();
    t.text('carrier');
    t.text('tracking_number');
    t.timestamp('requested_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['order_id']);
    t.index(['status', 'updated_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('fulfilments');
}
