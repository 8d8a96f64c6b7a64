/**
 * The outbox's promises (issue 22): every recorded transition of an order has its events, each
 * order's events are numbered 1, 2, 3... without a gap, and every event a subscription hears has
 * a delivery that is delivered or still pending: none lost, none given up on.
 */
import type { Knex } from 'knex';
import type { Violation } from './invariants';

export async function auditEvents(db: Knex, orderIds?: string[]): Promise<Violation[]> {
  const violations: Violation[] = [];
  const scoped = (q: Knex.QueryBuilder, column: string) => (orderIds ? q.whereIn(column, orderIds) : q);

  // A history entry without its event (orders placed before the outbox existed have no events at all).
  const silent: { order_id: string; seq: number; action: string }[] = await scoped(
    db('order_history as h')
      .join('orders as o', 'o.id', 'h.order_id')
      .where('o.event_seq', '>', 0)
      .whereNotExists(
        db('order_events as e')
          .whereRaw('e.order_id = h.order_id')
          .whereRaw(
            `e.source IN ('history:' || h.seq || ':order.status_changed', 'history:' || h.seq || ':order.created')`,
          ),
      )
      .select('h.order_id', 'h.seq', 'h.action'),
    'h.order_id',
  );
  for (const s of silent)
    violations.push({
      rule: 'every transition has its event',
      subject: s.order_id,
      detail: `#${s.seq} ${s.action}`,
    });

  // 1..n, and n is what the order says it gave out.
  const numbering: { id: string; event_seq: number; count: number; max: number | null }[] = await scoped(
    db('orders as o')
      .leftJoin('order_events as e', 'e.order_id', 'o.id')
      .groupBy('o.id', 'o.event_seq')
      .select('o.id', 'o.event_seq', db.raw('count(e.id)::int AS count'), db.raw('max(e.seq) AS max')),
    'o.id',
  );
  for (const n of numbering)
    if (n.count !== n.event_seq || (n.max ?? 0) !== n.event_seq)
      violations.push({
        rule: 'events numbered without a gap',
        subject: n.id,
        detail: `${n.count} events, last number ${n.max ?? 0}, order says ${n.event_seq}`,
      });

  // Each event an active subscription hears (since it was last changed) has a delivery, delivered or pending.
  const undelivered: { webhook_id: string; event_id: string; order_id: string; status: string | null }[] =
    await scoped(
      db('order_events as e')
        .join('webhooks as w', (j) =>
          j
            .on(db.raw(`('*' = ANY (w.events) OR e.type = ANY (w.events))`))
            .andOn('e.occurred_at', '>=', 'w.updated_at')
            .andOn(db.raw('w.active')),
        )
        .leftJoin('webhook_deliveries as d', (j) => j.on('d.webhook_id', 'w.id').andOn('d.event_id', 'e.id'))
        .where((q) => q.whereNull('d.status').orWhere('d.status', 'failed'))
        .select('w.id as webhook_id', 'e.id as event_id', 'e.order_id', 'd.status'),
      'e.order_id',
    );
  for (const u of undelivered)
    violations.push({
      rule: 'every event delivered or pending',
      subject: u.order_id,
      detail: `${u.event_id} to ${u.webhook_id}: ${u.status ?? 'no delivery'}`,
    });
  return violations;
}
