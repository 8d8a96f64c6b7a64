/**
 * Writes one transition to PostgreSQL: the history row, the order's new snapshot and the events it
 * announces (the outbox, with their deliveries), in one statement. Idempotent and ordered by
 * `seq`: a retry inserts nothing new, and a late retry of an older transition never overwrites a
 * newer snapshot; the events are written with the snapshot or not at all.
 */
import type { Knex } from 'knex';
import { PAYMENT_EVENTS, paymentEvents, paymentKey, transitionEvents } from '../../domain/events';
import type { HistoryEntry, OrderState, UnsettledAction } from '../../domain/order';
import { appendEvents, FAN_OUT_SQL, newEventId } from '../events/outbox';
import { loadOrder } from './read-order';

export type OrderSnapshot = Pick<
  OrderState,
  | 'status'
  | 'amounts'
  | 'items'
  | 'shipment'
  | 'shipments'
  | 'deliveredAt'
  | 'afterSalesUntil'
  | 'fulfilments'
  | 'delivery'
  | 'presale'
  | 'discounts'
  | 'paymentDeadline'
  | 'updatedAt'
  | 'shippingAddress'
  | 'payments'
  | 'attention'
  | 'allocation'
  | 'imported'
>;

/** `paymentKey` in SQL, of a payment `p` of the order's JSON (the statuses and events are the code's own). */
const PAYMENT_KEY_SQL = `(p->>'id') || ':' || CASE p->>'status' ${Object.entries(PAYMENT_EVENTS)
  .map(([status, type]) => `WHEN '${status}' THEN '${type}'`)
  .join(' ')} END`;

/**
 * One statement, so one round trip: a statement is atomic on its own, and PostgreSQL runs every
 * data-modifying WITH clause to completion. The lines change only with the snapshot they belong to.
 */
export async function recordTransition(
  db: Knex,
  orderId: string,
  entry: HistoryEntry,
  snapshot: OrderSnapshot,
  {
    announce = true,
    unsettled,
  }: {
    /** false only to measure what the outbox costs (bench/run.ts): the service always announces. */
    announce?: boolean;
    /**
     * The Update the transition came from: kept beside it until the Update is answered
     * (services/orders/unsettled-actions.ts), with the snapshot or not at all.
     */
    unsettled?: UnsettledAction;
  } = {},
): Promise<void> {
  const {
    subtotal,
    discount,
    shipping,
    total,
    paid,
    refunded,
    authorized = 0,
    released = 0,
  } = snapshot.amounts;
  const lines = snapshot.items.map((item, line) => [
    line,
    item.quantity,
    item.discount,
    item.total,
    item.refundedQuantity,
    item.refundedAmount ?? null,
    item.exchangedQuantity ?? 0,
    item.exchangedAmount ?? 0,
  ]);
  // The workflow passes its whole state; the events show the order as it is after this entry,
  // with each payment's present status (written only the first time: see `fresh` below).
  const order = { ...(snapshot as Omit<OrderState, 'history' | 'id'>), id: orderId };
  const events = (announce ? [...transitionEvents(entry, order), ...paymentEvents(order)] : []).map(
    (e, i) => ({
      n: i + 1,
      id: newEventId(),
      type: e.type,
      source: e.source,
      data: e.data,
      key: 'key' in e ? e.key : null,
    }),
  );
  const linesUpdate = lines.length
    ? `UPDATE order_items AS i
         SET quantity = v.quantity, discount = v.discount, total = v.total, refunded_quantity = v.refunded,
             refunded_amount = v.refunded_amount, exchanged_quantity = v.exchanged, exchanged_amount = v.exchanged_amount
         FROM (VALUES ${lines.map(() => '(?::int, ?::int, ?::bigint, ?::bigint, ?::int, ?::bigint, ?::int, ?::bigint)').join(', ')})
           AS v(line, quantity, discount, total, refunded, refunded_amount, exchanged, exchanged_amount)
         WHERE i.order_id = ? AND i.line = v.line AND EXISTS (SELECT 1 FROM snapshot)`
    : 'SELECT 1';
  await db.raw(
    // `fresh`: the events not written before, numbered 1..k, so the order's numbers stay without a
    // gap; a payment is announced only in a status the order did not show before this entry (a
    // payment made before payments were announced stays unannounced). The payments are read from
    // the row once it is locked (`locked`): a payment's news committed while this statement waited
    // (`recordPayments`, which announces too) is seen, so its event is not counted again.
    `WITH locked AS (
       SELECT o.details FROM orders o WHERE o.id = ? FOR NO KEY UPDATE
     ), fresh AS (
       SELECT e.id, e.type, e.source, e.data, row_number() OVER (ORDER BY e.n)::int AS n
         FROM jsonb_to_recordset(?::jsonb) AS e(n int, id text, type text, source text, data jsonb, key text)
         WHERE NOT EXISTS (SELECT 1 FROM order_events x WHERE x.order_id = ? AND x.source = e.source)
           AND (e.key IS NULL OR NOT EXISTS (
             SELECT 1 FROM locked o, jsonb_array_elements(COALESCE(o.details->'payments', '[]'::jsonb)) p
              WHERE ${PAYMENT_KEY_SQL} = e.key))
     ), history AS (
       INSERT INTO order_history (order_id, seq, "from", action, "to", actor, at, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (order_id, seq) DO NOTHING
     ), snapshot AS (
       UPDATE orders
         SET status = ?, subtotal = ?, discount = ?, shipping = ?, total = ?, paid = ?, refunded = ?,
             authorized = ?, released = ?,
             payment_deadline = ?, shipping_address = ?, details = ?, history_seq = ?, updated_at = ?,
             event_seq = event_seq + (SELECT count(*)::int FROM fresh)
         WHERE id = ? AND history_seq < ?
         RETURNING id, event_seq
     ), events AS (
       INSERT INTO order_events (id, order_id, seq, type, source, occurred_at, data)
       SELECT f.id, s.id, s.event_seq - (SELECT count(*)::int FROM fresh) + f.n, f.type, f.source, ?, f.data
         FROM snapshot s CROSS JOIN fresh f
       ON CONFLICT DO NOTHING
       RETURNING id, order_id, seq, type
     ), deliveries AS (
       ${FAN_OUT_SQL}
     )${
       unsettled
         ? `, unsettled AS (
       INSERT INTO unsettled_actions (order_id, update_id, seq, request, send_id)
       SELECT s.id, ?, ?, ?::jsonb, ? FROM snapshot s
       ON CONFLICT DO NOTHING
     )`
         : ''
     }
     ${linesUpdate}`,
    [
      orderId,
      JSON.stringify(events),
      orderId,
      orderId,
      entry.seq,
      entry.from,
      entry.action,
      entry.to,
      entry.actor,
      entry.at,
      entry.reason ?? null,
      snapshot.status,
      subtotal,
      discount,
      shipping,
      total,
      paid,
      refunded,
      authorized,
      released,
      snapshot.paymentDeadline || null,
      snapshot.shippingAddress ? JSON.stringify(snapshot.shippingAddress) : null,
      JSON.stringify({
        discounts: snapshot.discounts,
        presale: snapshot.presale,
        shipment: snapshot.shipment,
        delivery: snapshot.delivery,
        ...(snapshot.payments ? { payments: snapshot.payments } : {}),
        ...(snapshot.attention ? { attention: snapshot.attention } : {}),
        ...(snapshot.allocation ? { allocation: snapshot.allocation } : {}),
        ...(snapshot.shipments ? { shipments: snapshot.shipments } : {}),
        ...(snapshot.deliveredAt ? { deliveredAt: snapshot.deliveredAt } : {}),
        ...(snapshot.afterSalesUntil ? { afterSalesUntil: snapshot.afterSalesUntil } : {}),
        ...(snapshot.fulfilments ? { fulfilments: snapshot.fulfilments } : {}),
        ...(snapshot.imported ? { imported: snapshot.imported } : {}),
      }),
      entry.seq,
      snapshot.updatedAt,
      orderId,
      entry.seq,
      entry.at,
      ...(unsettled
        ? [unsettled.updateId, entry.seq, JSON.stringify(unsettled.request), unsettled.updateId]
        : []),
      ...(lines.length ? [...lines.flat(), orderId] : []),
    ],
  );
}

/**
 * A payment changed without a transition (it is pending, or failed): the order's payments, unless
 * a later transition has already written newer ones, or (`rev`, the workflow's count of these
 * writes) a later write of its own did: an attempt held up until after its retry and the next
 * write committed must not put older payments back.
 */
export async function recordPayments(
  db: Knex,
  orderId: string,
  seq: number,
  payments: NonNullable<OrderState['payments']>,
  at: string,
  /**
   * Absent from calls scheduled before it was passed (an activity of an order started before local
   * activities, or an old worker's during a deploy): then only `seq` guards.
   */
  rev?: number,
): Promise<void> {
  await db.transaction(async (trx) => {
    const query = trx('orders').where('id', orderId).andWhere('history_seq', '<=', seq);
    // A transition's snapshot carries no `paymentsRev`: after one, every write of the new seq passes.
    if (rev !== undefined) query.andWhereRaw(`COALESCE((details->>'paymentsRev')::int, 0) < ?`, [rev]);
    const before: { payments: OrderState['payments'] | null } | undefined = await query
      .forUpdate()
      .first(trx.raw(`details->'payments' AS payments`));
    if (!before) return;
    const written = trx.raw(`jsonb_set(details, '{payments}', ?::jsonb)`, [JSON.stringify(payments)]);
    await trx('orders')
      .where('id', orderId)
      .update({
        details:
          rev === undefined
            ? written
            : trx.raw(`jsonb_set(?, '{paymentsRev}', to_jsonb(?::int))`, [written, rev]),
        updated_at: at,
      });
    // Announced with the write: each payment in a status the order did not show before (pending, failed...).
    const shown = new Set((before.payments ?? []).map(paymentKey));
    const order = await loadOrder(trx, orderId);
    if (order)
      await appendEvents(
        trx,
        orderId,
        paymentEvents(order).filter((e) => !shown.has(e.key)),
        at,
      );
  });
}
