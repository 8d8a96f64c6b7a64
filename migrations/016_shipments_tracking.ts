import type { Knex } from 'knex';

/** Every parcel's tracking number is searchable (`q`), not only the last one's: a containment index on the parcels. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `CREATE INDEX orders_shipments_index ON orders USING gin ((details->'shipments') jsonb_path_ops)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX orders_shipments_index');
}
