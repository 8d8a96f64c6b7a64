import type { Knex } from 'knex';

/**
 * Order edits (issue 21): a preview of lines added, removed, changed or swapped, confirmed or
 * cancelled. `version` is the order's version when it was previewed (its steps, production and
 * review left out): confirmed after the order changed, it is stale.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('order_edits', (t) => {
    t.text('id').primary();
    t.text('order_id').notNullable().references('orders.id').index();
    t.text('customer_id').notNullable();
    t.text('status').notNullable(); // PREVIEW | CONFIRMED | CANCELLED
    t.jsonb('request').notNullable();
    t.jsonb('before').notNullable();
    t.jsonb('after').notNullable();
    t.bigInteger('difference').notNullable();
    t.bigInteger('owed').notNullable();
    t.bigInteger('refund').notNullable();
    t.boolean('coupon_kept').notNullable();
    t.integer('version').notNullable();
    // Each confirmation's units are held under a tag of their own: a declined one's go back for good.
    t.integer('attempt').notNullable().defaultTo(1);
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('order_edits');
}
