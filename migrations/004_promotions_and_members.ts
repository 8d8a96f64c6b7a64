import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('promotions', (t) => {
    t.text('code').primary();
    t.text('kind').notNullable(); // percent | fixed | threshold
    t.bigInteger('value').notNullable();
    t.bigInteger('min_subtotal');
    t.integer('max_uses');
    t.integer('per_customer_limit');
    t.timestamp('starts_at', { useTz: true });
    t.timestamp('ends_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // One row per order that uses a coupon: locked at order time, redeemed when paid, released when
  // cancelled or timed out. Locked and redeemed uses count against the limits.
  await knex.schema.createTable('coupon_uses', (t) => {
    t.text('code').notNullable().references('promotions.code');
    t.text('order_id').notNullable();
    t.text('customer_id').notNullable();
    t.text('state').notNullable(); // locked | redeemed | released
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['code', 'order_id']);
    t.index(['code', 'customer_id']);
  });
  await knex.schema.createTable('members', (t) => {
    t.text('customer_id').primary();
    t.text('tier').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('members');
  await knex.schema.dropTable('coupon_uses');
  await knex.schema.dropTable('promotions');
}
