import type { Knex } from 'knex';

/**
 * A subscriber that keeps failing is tried as a whole, not delivery by delivery: after each failure
 * its deliveries wait (backing off as its failures add up), one probe at a time, until one succeeds.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhooks', (t) => {
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    t.timestamp('retry_after', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhooks', (t) => {
    t.dropColumn('consecutive_failures');
    t.dropColumn('retry_after');
  });
}
