import type { Knex } from 'knex';

// An in-progress Idempotency-Key holds a lease: if the API dies mid-request, a retry takes the
// key over once the lease lapses, instead of meeting "in progress" until the key expires.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.timestamp('lease_until', { useTz: true }));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.dropColumn('lease_until'));
}
