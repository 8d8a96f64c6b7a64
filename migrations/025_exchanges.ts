import type { Knex } from 'knex';

/**
 * Exchanges (issue 21): units sent back for others in one request, with the difference paid or
 * refunded. Listed like returns and claims. An order's lines count the units given back in
 * exchanges, and what they were credited, apart from refunds.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('exchanges', (t) => {
    t.text('id').primary();
    t.text('order_id').notNullable().references('orders.id').index();
    t.text('customer_id').notNullable();
    t.text('status').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.jsonb('return_items').notNullable(); // [{ sku, quantity, amount }]
    t.jsonb('new_items').notNullable(); // [{ sku, name, quantity, unitPrice, total }]
    t.bigInteger('credit').notNullable();
    t.bigInteger('new_total').notNullable();
    t.bigInteger('difference').notNullable();
    t.jsonb('payment'); // { id, status, amount, method?, nextAction?, code? }
    t.bigInteger('refunded_amount');
    t.jsonb('received');
    t.jsonb('shipment');
    t.text('reason');
    t.jsonb('history').notNullable();
    t.integer('history_seq').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['created_at', 'id']);
    t.index(['customer_id', 'created_at', 'id']);
    t.index(['status', 'created_at', 'id']);
  });
  await knex.schema.alterTable('order_items', (t) => {
    t.integer('exchanged_quantity').notNullable().defaultTo(0);
    t.bigInteger('exchanged_amount').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('order_items', (t) => {
    t.dropColumn('exchanged_quantity');
    t.dropColumn('exchanged_amount');
  });
  await knex.schema.dropTable('exchanges');
}
