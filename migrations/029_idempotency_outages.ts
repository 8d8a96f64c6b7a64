import type { Knex } from 'knex';

/**
 * A key whose request ended in a server error is kept as `failed`, counting its outages, instead
 * of being dropped: a retry under it runs again, and an action an order's workflow answered with
 * an outage is tried under a new Update id (Temporal answers a finished Update's id with its
 * finished answer), one for each outage counted (api/idempotency.ts `updateIdsFromKey`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.integer('outages').notNullable().defaultTo(0));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.dropColumn('outages'));
}
