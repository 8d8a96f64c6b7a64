/** Events received from other systems, by source and the sender's event id: each is acted on once. */
import type { Knex } from 'knex';

export async function alreadyReceived(db: Knex, source: string, eventId: string): Promise<boolean> {
  return (await db('inbound_events').where({ source, event_id: eventId }).first('event_id')) !== undefined;
}

/** Recorded once it was acted on: a sender that retries after a lost answer is answered, not obeyed twice. */
export async function recordReceived(
  db: Knex,
  event: { source: string; eventId: string; type: string; orderId: string | null },
): Promise<void> {
  await db('inbound_events')
    .insert({ source: event.source, event_id: event.eventId, type: event.type, order_id: event.orderId })
    .onConflict(['source', 'event_id'])
    .ignore();
}
