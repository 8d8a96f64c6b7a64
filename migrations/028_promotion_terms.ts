import type { Knex } from 'knex';

/**
 * A promotion's amounts (a fixed value, a threshold, a minimum subtotal) are in one currency when
 * it names one: orders in another currency cannot use it. A coupon use keeps the promotion's terms
 * as they were when the order took it, so a later change to the promotion does not reprice the
 * order (an edit, a modification). Uses taken before have none and read the promotion as it is.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('promotions', (t) => t.text('currency'));
  await knex.schema.alterTable('coupon_uses', (t) => t.jsonb('terms'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('coupon_uses', (t) => t.dropColumn('terms'));
  await knex.schema.alterTable('promotions', (t) => t.dropColumn('currency'));
}
