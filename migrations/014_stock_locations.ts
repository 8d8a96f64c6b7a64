import type { Knex } from 'knex';

/**
 * Stock per location (issue 20): warehouses and shops with a priority, on-hand and reserved
 * figures per (sku, location), each movement of the ledger at one location. What the products
 * table held becomes the `default` location's figures; a product's totals are the sum over its
 * locations, so they are no longer kept twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('locations', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    // A rank: 0 ships before 1 when the same number of locations can serve an order.
    t.integer('priority').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex('locations').insert({ id: 'default', name: 'Default location', priority: 0 });

  await knex.schema.createTable('stock_levels', (t) => {
    t.text('sku').notNullable().references('products.sku');
    t.text('location_id').notNullable().references('locations.id');
    t.integer('on_hand').notNullable().defaultTo(0);
    t.integer('reserved').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['sku', 'location_id']);
  });
  // As before, per location: the database itself refuses an oversell.
  await knex.raw(`ALTER TABLE stock_levels ADD CONSTRAINT stock_level_never_negative
    CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand)`);
  await knex.raw(`INSERT INTO stock_levels (sku, location_id, on_hand, reserved, updated_at)
    SELECT sku, 'default', on_hand, reserved, updated_at FROM products`);

  await knex.schema.alterTable('stock_movements', (t) => {
    t.text('location_id').notNullable().defaultTo('default').references('locations.id');
  });
  await knex.raw('ALTER TABLE stock_movements ALTER COLUMN location_id DROP DEFAULT');
  await knex.schema.alterTable('stock_movements', (t) => {
    t.dropUnique(['sku', 'op_key']);
    t.unique(['sku', 'location_id', 'op_key']);
  });

  await knex.raw('ALTER TABLE products DROP CONSTRAINT stock_never_negative');
  await knex.schema.alterTable('products', (t) => {
    t.dropColumn('on_hand');
    t.dropColumn('reserved');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('products', (t) => {
    t.integer('on_hand').notNullable().defaultTo(0);
    t.integer('reserved').notNullable().defaultTo(0);
  });
  await knex.raw(`UPDATE products p SET on_hand = s.on_hand, reserved = s.reserved
    FROM (SELECT sku, SUM(on_hand)::int AS on_hand, SUM(reserved)::int AS reserved
          FROM stock_levels GROUP BY sku) s WHERE s.sku = p.sku`);
  await knex.raw(`ALTER TABLE products ADD CONSTRAINT stock_never_negative
    CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand)`);
  await knex.schema.alterTable('stock_movements', (t) => {
    t.dropUnique(['sku', 'location_id', 'op_key']);
    t.dropColumn('location_id');
    t.unique(['sku', 'op_key']);
  });
  await knex.schema.dropTable('stock_levels');
  await knex.schema.dropTable('locations');
}
