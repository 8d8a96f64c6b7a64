import type { Knex } from 'knex';

// Events other systems sent (a provider's webhooks), once each: a duplicate is answered, not acted on twice.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('inbound_events', (t) => {
    t.text('source').notNullable();
    t.text('event_id').notNullable();
    t.text('type').notNullable();
    t.text('order_id');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['source', 'event_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('inbound_events');
}
