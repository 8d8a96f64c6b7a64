import type { Knex } from 'knex';

// The order list sorted by total (within one currency), keyset-paginated on (total, id).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => t.index(['currency', 'total', 'id']));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => t.dropIndex(['currency', 'total', 'id']));
}
