import type { Knex } from 'knex';

/**
 * Events out (issue 22): a transactional outbox of the order center's events, numbered per order,
 * written in the same statement as what they announce; webhook subscriptions; and one delivery
 * row per (subscription, event), written with the event, that the dispatcher works through.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    // The last event sequence number given to this order: the next event takes the one after.
    t.integer('event_seq').notNullable().defaultTo(0);
  });
  await knex.schema.createTable('order_events', (t) => {
    t.text('id').primary(); // evt_<32 hex>, the Webhook-Id receivers de-duplicate by
    t.text('order_id').notNullable().references('orders.id');
    t.integer('seq').notNullable();
    t.text('type').notNullable();
    // What announced it (a history entry, a refund, a return step): written once whatever the retries.
    t.text('source').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.jsonb('data').notNullable();
    t.unique(['order_id', 'seq']);
    t.unique(['order_id', 'source']);
  });
  await knex.schema.createTable('webhooks', (t) => {
    t.text('id').primary();
    t.text('url').notNullable();
    t.specificType('events', 'text[]').notNullable();
    t.text('secret').notNullable();
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.text('webhook_id').notNullable().references('webhooks.id');
    t.text('event_id').notNullable().references('order_events.id');
    t.text('order_id').notNullable();
    t.integer('seq').notNullable();
    t.text('status').notNullable().defaultTo('pending'); // pending | delivered | failed
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Claimed by a dispatcher until then; a dispatcher that died lets it go when it passes.
    t.timestamp('locked_until', { useTz: true });
    // Retried until this plus WEBHOOK_RETRY_FOR; a redelivery starts the window again.
    t.timestamp('retry_from', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['webhook_id', 'event_id']);
  });
  // Due work, and "is an earlier event of this order still pending for this subscriber?".
  await knex.raw(
    `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`,
  );
  await knex.raw(
    `CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, order_id, seq) WHERE status = 'pending'`,
  );
  await knex.raw(
    `CREATE INDEX webhook_deliveries_listing ON webhook_deliveries (webhook_id, created_at, event_id)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('webhooks');
  await knex.schema.dropTable('order_events');
  await knex.schema.alterTable('orders', (t) => t.dropColumn('event_seq'));
}
