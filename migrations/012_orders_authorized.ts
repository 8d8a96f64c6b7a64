import type { Knex } from 'knex';

// Money held at the provider and not captured yet (PAYMENT_CAPTURE=on_shipment), and what refunds
// before the capture released from the hold, beside paid and refunded.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.bigInteger('authorized').notNullable().defaultTo(0);
    t.bigInteger('released').notNullable().defaultTo(0);
  });
  await knex.raw(
    'ALTER TABLE orders ADD CONSTRAINT orders_held_nonnegative CHECK (authorized >= 0 AND released >= 0)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('authorized');
    t.dropColumn('released');
  });
}
