import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('products', (t) => {
    t.text('sku').primary();
    t.text('name').notNullable();
    t.bigInteger('price').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.text('kind').notNullable();
    t.text('inventory_strategy'); // null: the service default
    t.integer('on_hand').notNullable().defaultTo(0);
    t.integer('reserved').notNullable().defaultTo(0);
    t.jsonb('presale');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // The database itself refuses an oversell, whatever the code above it does.
  await knex.raw(`ALTER TABLE products ADD CONSTRAINT stock_never_negative
    CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand)`);

  // The ledger: every stock movement, once. `op_key` derives from the order and the operation,
  // so a retried activity finds its movement already there and moves nothing.
  await knex.schema.createTable('stock_movements', (t) => {
    t.bigIncrements('id');
    t.text('sku').notNullable().references('products.sku');
    t.text('order_id');
    t.text('op_key').notNullable();
    t.text('kind').notNullable(); // reserve | release | commit | restock | adjust
    t.integer('quantity').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['sku', 'op_key']);
    t.index(['order_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('stock_movements');
  await knex.schema.dropTable('products');
}
