import type { Knex } from 'knex';

/**
 * The dispatcher's claim reads each subscription's own due deliveries, at most its share
 * (services/webhooks/subscriptions.ts `claimDue`), and counts its leases, so a subscriber's
 * backlog costs nothing while it backs off. The old claim's index (all due deliveries in time
 * order) stays while workers from before may run it; a later migration may drop it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `CREATE INDEX webhook_deliveries_claim ON webhook_deliveries (webhook_id, next_attempt_at) WHERE status = 'pending'`,
  );
  await knex.raw(
    `CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (webhook_id, locked_until)
      WHERE status = 'pending' AND locked_until IS NOT NULL`,
  );
}

export async function down(knex: Knex): Promise<void> {
  // Workers from before never make a waiting delivery due (services/events/outbox.ts FAN_OUT_SQL):
  // every one is due again, and their claim keeps each order's events in sequence.
  await knex.raw(
    `UPDATE webhook_deliveries SET next_attempt_at = least(created_at, now())
      WHERE status = 'pending' AND next_attempt_at = 'infinity'`,
  );
  await knex.raw(`DROP INDEX webhook_deliveries_leased`);
  await knex.raw(`DROP INDEX webhook_deliveries_claim`);
}
