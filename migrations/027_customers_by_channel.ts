import type { Knex } from 'knex';

/**
 * A customer is a customer id within a channel (a partner's `alice` is not the web shop's): member
 * tiers and a coupon's uses per customer are kept per channel too. Every membership so far was
 * set without a channel, for the web shop's customers; each coupon use takes its order's channel.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('members', (t) => {
    t.text('channel').notNullable().defaultTo('web');
    t.dropPrimary();
  });
  await knex.schema.alterTable('members', (t) => t.primary(['channel', 'customer_id']));
  await knex.schema.alterTable('coupon_uses', (t) => {
    t.text('channel').notNullable().defaultTo('web');
    t.dropIndex(['code', 'customer_id']);
    t.index(['code', 'channel', 'customer_id']);
  });
  await knex.raw(
    `UPDATE coupon_uses u SET channel = o.channel FROM orders o WHERE o.id = u.order_id AND o.channel <> 'web'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('coupon_uses', (t) => {
    t.dropIndex(['code', 'channel', 'customer_id']);
    t.index(['code', 'customer_id']);
    t.dropColumn('channel');
  });
  await knex('members').whereNot('channel', 'web').delete();
  await knex.schema.alterTable('members', (t) => t.dropPrimary());
  await knex.schema.alterTable('members', (t) => {
    t.dropColumn('channel');
    t.primary(['customer_id']);
  });
}
