import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The order center's record of each refund (the provider keeps its own in `refunds`).
  await knex.schema.createTable('order_refunds', (t) => {
    t.text('id').primary();
    t.text('order_id').notNullable().references('orders.id').index();
    t.text('source').notNullable(); // refund | return | cancel
    t.jsonb('items').notNullable(); // [{ sku, quantity, amount }]
    t.bigInteger('shipping').notNullable().defaultTo(0);
    t.bigInteger('amount').notNullable();
    t.text('reason');
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
  await knex.schema.createTable('returns', (t) => {
    t.text('id').primary();
    t.text('order_id').notNullable().references('orders.id').index();
    t.text('customer_id').notNullable();
    t.text('status').notNullable();
    t.jsonb('items').notNullable(); // [{ sku, quantity }]
    t.text('reason');
    t.bigInteger('refunded_amount');
    t.jsonb('history').notNullable(); // [{ from, action, to, actor, at, reason? }]
    t.integer('history_seq').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('returns');
  await knex.schema.dropTable('order_refunds');
}
