import type { Knex } from 'knex';

/**
 * The order center's stats at a million orders (issue 23): counts and sums per UTC day, status,
 * type, channel, payment status and currency, kept exact by PostgreSQL itself whoever writes the
 * orders (the projection, an import, the seed). A write appends its changes to
 * `order_stats_changes` (insert only: concurrent orders never wait on one hot counter row), and
 * services/orders/order-stats.ts folds them into `order_stats_daily` now and then. A stats query
 * reads both, so it is exact whether or not the last changes were folded.
 */
const KEY = ['day', 'status', 'type', 'channel', 'payment_status', 'currency'] as const;
const KEYS = KEY.join(', ');

/** An orders row's key and sums, signed (+1 for a new row, -1 for an old one). */
const signed = (rows: string, sign: 1 | -1) => `
  SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status, type, channel, payment_status,
         trim(currency) AS currency, ${sign} AS count, ${sign} * total AS total,
         ${sign} * paid AS paid, ${sign} * refunded AS refunded
    FROM ${rows}`;

/** The changes a statement made, one row per key it moved (none when nothing counted moved). */
const record = (sources: string) => `
  INSERT INTO order_stats_changes (${KEYS}, count, total, paid, refunded)
  SELECT ${KEYS}, sum(count), sum(total), sum(paid), sum(refunded)
    FROM (${sources}) s
   GROUP BY ${KEYS}
  HAVING sum(count) <> 0 OR sum(total) <> 0 OR sum(paid) <> 0 OR sum(refunded) <> 0`;

const TRIGGERS = {
  insert: { event: 'INSERT', referencing: 'NEW TABLE AS new_rows', sources: signed('new_rows', 1) },
  update: {
    event: 'UPDATE',
    referencing: 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
    sources: `${signed('new_rows', 1)} UNION ALL ${signed('old_rows', -1)}`,
  },
  delete: { event: 'DELETE', referencing: 'OLD TABLE AS old_rows', sources: signed('old_rows', -1) },
};

export async function up(knex: Knex): Promise<void> {
  for (const table of ['order_stats_daily', 'order_stats_changes']) {
    await knex.schema.createTable(table, (t) => {
      if (table === 'order_stats_changes') t.bigIncrements('id');
      t.date('day').notNullable();
      t.text('status').notNullable();
      t.text('type').notNullable();
      t.text('channel').notNullable();
      t.text('payment_status').notNullable();
      t.text('currency').notNullable();
      t.bigInteger('count').notNullable();
      t.bigInteger('total').notNullable();
      t.bigInteger('paid').notNullable();
      t.bigInteger('refunded').notNullable();
      if (table === 'order_stats_daily') t.primary([...KEY]);
      else t.index(['day']);
    });
  }
  // Statement-level: a batch of a thousand orders is one change row per key, not a thousand.
  for (const [name, { event, referencing, sources }] of Object.entries(TRIGGERS)) {
    await knex.raw(`
      CREATE FUNCTION order_stats_on_${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${record(sources)};
        RETURN NULL;
      END $$`);
    await knex.raw(`
      CREATE TRIGGER order_stats_on_${name} AFTER ${event} ON orders
      REFERENCING ${referencing} FOR EACH STATEMENT EXECUTE FUNCTION order_stats_on_${name}()`);
  }
  // The orders already there.
  await knex.raw(`
    INSERT INTO order_stats_daily (${KEYS}, count, total, paid, refunded)
    SELECT ${KEYS}, sum(count), sum(total), sum(paid), sum(refunded)
      FROM (${signed('orders', 1)}) s
     GROUP BY ${KEYS}`);
}

export async function down(knex: Knex): Promise<void> {
  for (const name of Object.keys(TRIGGERS)) {
    await knex.raw(`DROP TRIGGER order_stats_on_${name} ON orders`);
    await knex.raw(`DROP FUNCTION order_stats_on_${name}()`);
  }
  await knex.schema.dropTable('order_stats_changes');
  await knex.schema.dropTable('order_stats_daily');
}
