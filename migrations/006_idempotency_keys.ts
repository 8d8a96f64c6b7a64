import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Idempotency-Key records: the first response to a (caller, key), replayed to every retry.
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.text('scope').notNullable(); // the caller: role and id
    t.text('key').notNullable();
    t.text('request_hash').notNullable(); // method, path and body
    t.text('state').notNullable(); // in_progress | done
    t.integer('status');
    t.text('content_type');
    t.jsonb('body');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['scope', 'key']);
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys');
}
