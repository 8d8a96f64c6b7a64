import type { Knex } from 'knex';

/**
 * Returns (issue 21): why, from a closed list the merchant can count (returns from before: `other`),
 * and what arrived, per SKU, sellable or damaged.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('returns', (t) => {
    t.text('reason_code').notNullable().defaultTo('other');
    t.jsonb('received');
  });
  // The reasons report counts a window of returns by reason.
  await knex.raw('CREATE INDEX returns_created_reason ON returns (created_at, reason_code)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX returns_created_reason');
  await knex.schema.alterTable('returns', (t) => {
    t.dropColumn('received');
    t.dropColumn('reason_code');
  });
}
