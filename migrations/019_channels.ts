import type { Knex } from 'knex';

/**
 * Sales channels (issue 22): every order comes from one (`web`, the shop's own, unless a
 * partner's system placed it), and a customer id means a customer of that channel.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('channels', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    // Overrides PAYMENT_TIMEOUT for the channel's orders.
    t.bigInteger('payment_timeout_ms');
    // The order types it may place; null: every type.
    t.specificType('order_types', 'text[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex('channels').insert({ id: 'web', name: 'Web shop' });
  await knex.schema.alterTable('orders', (t) => {
    t.text('channel').notNullable().defaultTo('web');
  });
  // A channel's orders newest first, and its customers' (the lists' scopes).
  await knex.raw('CREATE INDEX orders_channel_created ON orders (channel, created_at DESC, id DESC)');
  await knex.raw(
    'CREATE INDEX orders_channel_customer_created ON orders (channel, customer_id, created_at DESC, id DESC)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX orders_channel_customer_created');
  await knex.raw('DROP INDEX orders_channel_created');
  await knex.schema.alterTable('orders', (t) => t.dropColumn('channel'));
  await knex.schema.dropTable('channels');
}
