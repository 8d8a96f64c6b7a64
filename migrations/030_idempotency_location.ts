import type { Knex } from 'knex';

/** A key's stored answer keeps its `Location` (a create's 201 names what it made): a replay sends it again. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.text('location'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.dropColumn('location'));
}
