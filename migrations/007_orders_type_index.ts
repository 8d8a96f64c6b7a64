import type { Knex } from 'knex';

// GET /v1/orders?type=... pages through one index range, like the status and customer filters.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => t.index(['type', 'created_at', 'id']));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => t.dropIndex(['type', 'created_at', 'id']));
}
