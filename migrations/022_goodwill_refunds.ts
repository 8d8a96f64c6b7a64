import type { Knex } from 'knex';

/**
 * Goodwill refunds (issue 21): an amount given back without units. A line that had one keeps the
 * money it gave back in all (null: derived from its refunded units, as before).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('order_items', (t) => {
    t.bigInteger('refunded_amount');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('order_items', (t) => t.dropColumn('refunded_amount'));
}
