import type { Knex } from 'knex';

/**
 * Orders imported from other order systems (issue 22): one order per (channel, id in the source),
 * whoever asks twice; and refunds of such orders, which the source channel owes the customer.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.text('external_id');
  });
  await knex.raw(
    'CREATE UNIQUE INDEX orders_channel_external_id ON orders (channel, external_id) WHERE external_id IS NOT NULL',
  );
  await knex.schema.alterTable('order_refunds', (t) => {
    // The channel that took the money and must give it back; null: refunded through the provider.
    t.text('owed_by');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('order_refunds', (t) => t.dropColumn('owed_by'));
  await knex.raw('DROP INDEX orders_channel_external_id');
  await knex.schema.alterTable('orders', (t) => t.dropColumn('external_id'));
}
