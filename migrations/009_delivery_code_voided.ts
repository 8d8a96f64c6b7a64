import type { Knex } from 'knex';

// A digital code is voided when its order is refunded in full: the code stays on record, unusable.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('production_jobs', (t) => t.timestamp('voided_at', { useTz: true }));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('production_jobs', (t) => t.dropColumn('voided_at'));
}
