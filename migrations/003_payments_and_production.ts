import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The sandbox payment provider's own tables, as a real provider would keep them.
  await knex.schema.createTable('payments', (t) => {
    t.text('id').primary();
    t.text('idempotency_key').notNullable().unique();
    t.text('order_id').notNullable().index();
    t.bigInteger('amount').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.text('token').notNullable();
    t.text('status').notNullable(); // pending | succeeded | declined
    t.text('decline_code');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('refunds', (t) => {
    t.text('id').primary();
    t.text('idempotency_key').notNullable().unique();
    t.text('payment_id').notNullable().references('payments.id');
    t.text('order_id').notNullable().index();
    t.bigInteger('amount').notNullable();
    t.text('reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE refunds ADD CONSTRAINT refund_positive CHECK (amount > 0)');

  await knex.schema.createTable('production_jobs', (t) => {
    t.text('order_id').primary();
    t.text('kind').notNullable(); // manufacture | digital_code
    t.text('delivery_code');
    t.timestamp('opened_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('production_jobs');
  await knex.schema.dropTable('refunds');
  await knex.schema.dropTable('payments');
}
