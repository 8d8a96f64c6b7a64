/**
 * The transactional outbox: the order center's events, numbered per order, written in the same
 * transaction (or statement) as what they announce, each with one delivery row per subscription
 * that hears it (services/webhooks). A number is given only to an event actually written, so a
 * receiver that sees a gap in an order's sequence knows something is missing.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { keysetPage, pageResult, type PageQuery } from '../paging';
import { orderSnapshot, type NewEvent } from '../../domain/events';
import { loadOrder } from '../orders/read-order';

export const newEventId = () => `evt_${randomUUID().replace(/-/g, '')}`;

/**
 * SQL: the events of the statement's `events` CTE (id, order_id, seq, type), one delivery per
 * subscription that hears each. A delivery behind its order's earlier one for that subscription
 * (pending already, or earlier in this statement) waits (`next_attempt_at` 'infinity', not due:
 * the dispatcher's claim never reads it) until that one is settled (`promoteNext`,
 * services/webhooks/subscriptions.ts). The earlier pending delivery is locked in share mode: one
 * being settled meanwhile is seen settled (this waits for it), or its settling waits for this
 * statement's commit and then finds this delivery to promote.
 */
export const FAN_OUT_SQL = `INSERT INTO webhook_deliveries (webhook_id, event_id, order_id, seq, next_attempt_at)
  SELECT w.id, e.id, e.order_id, e.seq,
         CASE WHEN EXISTS (SELECT 1 FROM events x
                            WHERE x.order_id = e.order_id AND x.seq < e.seq
                              AND ('*' = ANY (w.events) OR x.type = ANY (w.events)))
                OR EXISTS (SELECT 1 FROM webhook_deliveries p
                            WHERE p.webhook_id = w.id AND p.order_id = e.order_id AND p.status = 'pending'
                            FOR SHARE)
              THEN 'infinity'::timestamptz ELSE now() END
    FROM events e
  JOIN webhooks w ON w.active AND ('*' = ANY (w.events) OR e.type = ANY (w.events))`;

/**
 * Writes events numbered from `firstSeq` and their deliveries, in one statement. The caller has
 * given the order's `event_seq` its new value in the same transaction.
 */
export async function writeEvents(
  trx: Knex.Transaction,
  orderId: string,
  events: NewEvent[],
  firstSeq: number,
  occurredAt: string,
): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e, i) => ({
    id: newEventId(),
    seq: firstSeq + i,
    type: e.type,
    source: e.source,
    data: e.data,
  }));
  await trx.raw(
    `WITH events AS (
       INSERT INTO order_events (id, order_id, seq, type, source, occurred_at, data)
       SELECT e.id, ?, e.seq, e.type, e.source, ?, e.data
         FROM jsonb_to_recordset(?::jsonb) AS e(id text, seq int, type text, source text, data jsonb)
       RETURNING id, order_id, seq, type
     ) ${FAN_OUT_SQL}`,
    [orderId, occurredAt, JSON.stringify(rows)],
  );
}

/**
 * Appends events to an order's outbox inside `trx`: the order's row is locked, so events of one
 * order are numbered in the order they commit; an event whose source was written before is skipped.
 */
export async function appendEvents(
  trx: Knex.Transaction,
  orderId: string,
  events: NewEvent[],
  occurredAt: string,
): Promise<void> {
  if (events.length === 0) return;
  const row: { event_seq: number } | undefined = await trx('orders')
    .where({ id: orderId })
    .forUpdate()
    .first('event_seq');
  if (!row) return;
  const written = new Set<string>(
    await trx('order_events')
      .where({ order_id: orderId })
      .whereIn(
        'source',
        events.map((e) => e.source),
      )
      .pluck('source'),
  );
  const fresh = events.filter((e) => !written.has(e.source));
  if (fresh.length === 0) return;
  await trx('orders')
    .where({ id: orderId })
    .update({ event_seq: row.event_seq + fresh.length });
  await writeEvents(trx, orderId, fresh, row.event_seq + 1, occurredAt);
}

/**
 * The order as an event shows it, read inside the writer's transaction (refunds, returns, claims,
 * exchanges) once the order's row is locked, as `appendEvents` locks it: a transition committed
 * meanwhile is then in the snapshot, so no event shows the order older than the one before it.
 */
export async function snapshotFor(trx: Knex.Transaction, orderId: string) {
  await trx('orders').where({ id: orderId }).forUpdate().first('id');
  const order = await loadOrder(trx, orderId);
  if (!order) return null;
  const { history: _history, ...rest } = order;
  return orderSnapshot(rest);
}

export interface EventRecord {
  id: string;
  type: string;
  orderId: string;
  sequence: number;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** An event as receivers get it (the webhook body) and GET /v1/orders/:id/events lists it. */
export function eventFromRow(row: {
  id: string;
  type: string;
  order_id: string;
  seq: number;
  occurred_at: Date | string;
  data: Record<string, unknown>;
}): EventRecord {
  return {
    id: row.id,
    type: row.type,
    orderId: row.order_id,
    sequence: row.seq,
    occurredAt: new Date(row.occurred_at).toISOString(),
    data: row.data,
  };
}

/** A page of an order's events, in sequence. */
export async function eventsOf(db: Knex, orderId: string, page: PageQuery) {
  const rows = await keysetPage(db('order_events').where({ order_id: orderId }), ['seq'], 'asc', page);
  return pageResult(rows, page, 'events', (row) => [row.seq], eventFromRow);
}
