/**
 * The money rules, checked from the provider's tables and the order center's: per order, at most
 * one successful charge per payment step, refunds ≤ captures, the order's `paid` and `refunded`
 * agree with the provider, no line refunds more units than it has, and no money is kept on a
 * cancelled order unless the rules say so (a forfeited presale deposit).
 */
import type { Knex } from 'knex';

export interface MoneyViolation {
  orderId: string;
  rule: string;
  detail: string;
}

export async function auditMoney(db: Knex, orderIds?: string[]): Promise<MoneyViolation[]> {
  const q = db('orders as o').select(
    'o.id',
    'o.type',
    'o.status',
    'o.paid',
    'o.refunded',
    'o.total',
    db.raw(
      `(SELECT COALESCE(SUM(amount), 0) FROM payments p WHERE p.order_id = o.id AND p.status = 'succeeded')::bigint AS captured`,
    ),
    db.raw(
      `(SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id AND p.status = 'succeeded')::int AS captures`,
    ),
    db.raw(
      `(SELECT COALESCE(SUM(amount), 0) FROM refunds r WHERE r.order_id = o.id)::bigint AS provider_refunded`,
    ),
    db.raw(
      `(SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id AND i.refunded_quantity > i.quantity)::int AS over_refunded_lines`,
    ),
  );
  if (orderIds) q.whereIn('o.id', orderIds);
  const rows = await q;
  const violations: MoneyViolation[] = [];
  for (const r of rows) {
    const v = (rule: string, detail: string) => violations.push({ orderId: r.id, rule, detail });
    const maxCaptures = r.type === 'presale' ? 2 : 1;
    if (r.captures > maxCaptures)
      v('at most one capture per payment step', `${r.captures} successful charges`);
    if (Number(r.provider_refunded) > Number(r.captured))
      v('refunds ≤ captures', `${r.provider_refunded} refunded of ${r.captured}`);
    if (Number(r.captured) !== r.paid)
      v('paid agrees with the provider', `order says ${r.paid}, provider captured ${r.captured}`);
    if (Number(r.provider_refunded) !== r.refunded)
      v(
        'refunded agrees with the provider',
        `order says ${r.refunded}, provider refunded ${r.provider_refunded}`,
      );
    if (r.over_refunded_lines > 0) v('refunded quantity ≤ quantity', `${r.over_refunded_lines} line(s)`);
    if (r.paid - r.refunded > r.total) v('kept ≤ total', `${r.paid - r.refunded} kept of ${r.total}`);
    const kept = Number(r.captured) - Number(r.provider_refunded);
    if (r.status === 'CANCELLED' && kept > 0 && r.type !== 'presale')
      v('no money kept on a cancelled order', `${kept} kept`);
  }
  return violations;
}
