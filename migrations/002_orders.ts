import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('orders', (t) => {
    t.text('id').primary();
    t.text('type').notNullable();
    t.text('customer_id').notNullable();
    t.text('status').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    for (const col of ['subtotal', 'discount', 'shipping', 'total', 'paid', 'refunded']) {
      t.bigInteger(col).notNullable().defaultTo(0);
    }
    t.timestamp('payment_deadline', { useTz: true });
    t.text('coupon_code');
    t.jsonb('shipping_address');
    t.jsonb('details').notNullable().defaultTo('{}'); // discounts, shipment, delivery, presale
    t.integer('history_seq').notNullable().defaultTo(0); // last transition applied: keeps writes idempotent and ordered
    t.text('request_id');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['customer_id', 'created_at', 'id']);
    t.index(['status', 'created_at', 'id']);
    t.index(['created_at', 'id']);
  });
  await knex.raw(
    'ALTER TABLE orders ADD CONSTRAINT refunded_within_paid CHECK (refunded <= paid AND refunded >= 0)',
  );

  await knex.schema.createTable('order_items', (t) => {
    t.text('order_id').notNullable().references('orders.id').onDelete('CASCADE');
    t.integer('line').notNullable();
    t.text('sku').notNullable();
    t.text('name').notNullable();
    t.integer('quantity').notNullable();
    t.bigInteger('unit_price').notNullable();
    t.bigInteger('discount').notNullable();
    t.bigInteger('total').notNullable();
    t.integer('refunded_quantity').notNullable().defaultTo(0);
    t.text('inventory_strategy').notNullable();
    t.primary(['order_id', 'line']);
  });
  await knex.raw(
    'ALTER TABLE order_items ADD CONSTRAINT refunded_within_quantity CHECK (refunded_quantity <= quantity AND refunded_quantity >= 0)',
  );

  await knex.schema.createTable('order_history', (t) => {
    t.text('order_id').notNullable().references('orders.id').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.text('from');
    t.text('action').notNullable();
    t.text('to').notNullable();
    t.text('actor').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.text('reason');
    t.primary(['order_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('order_history');
  await knex.schema.dropTable('order_items');
  await knex.schema.dropTable('orders');
}
