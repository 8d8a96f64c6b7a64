import type { Knex } from 'knex';

/**
 * A key whose request ended in a server error is kept as `failed` instead of being dropped, counting
 * the outages an order's workflow answered and may run again: a retry under it runs again, under
 * the key's next Update id (Temporal answers a finished Update's id with its finished answer:
 * api/idempotency.ts `updateIdFromKey`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.integer('outages').notNullable().defaultTo(0));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.dropColumn('outages'));
}
