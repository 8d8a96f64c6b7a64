import type { Knex } from 'knex';

/**
 * Actions whose transition PostgreSQL holds while their workflow may not have taken them for good
 * (services/orders/unsettled-actions.ts): a local activity writes a transition before the workflow
 * task that ran it completes, and an Update lost with that task leaves the order center one
 * transition ahead. A row is written with its transition and deleted once the Update is answered;
 * the worker sends again what no one heard answered. Small: it holds only unanswered actions.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE unsettled_actions (
      order_id text NOT NULL,
      update_id text NOT NULL,
      seq integer NOT NULL,
      request jsonb NOT NULL,
      -- The id the next send uses: the Update's own, or its next after an outage it may rerun.
      send_id text NOT NULL,
      tries integer NOT NULL DEFAULT 0,
      -- Sends the workflow refused (a refusal may be for now only): forgotten after a few.
      refusals integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      -- Unset until first sent: due once the action has gone unanswered for a while.
      next_try_at timestamptz,
      PRIMARY KEY (order_id, update_id)
    )`);
  await knex.raw(`CREATE INDEX unsettled_actions_created ON unsettled_actions (created_at)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE unsettled_actions`);
}
