/**
 * The money rules, checked from the provider's own records (over its API) and the order center's: per order, at most
 * one successful charge per payment step, refunds ≤ captures, the order's `paid` and `refunded`
 * agree with the provider, no line refunds more units than it has, and no money is kept on a
 * cancelled order unless the rules say so (a forfeited presale deposit).
 */
import type { Knex } from 'knex';
import type { PaymentProvider } from '../services/payment/provider';

export interface MoneyViolation {
  orderId: string;
  rule: string;
  detail: string;
}

/** Per order, what the provider's own records say: successful charges, their sum, refunds. */
async function providerBooks(payments: PaymentProvider, orderIds: string[]) {
  const books = new Map<string, { captures: number; captured: number; refunded: number }>();
  // A few at a time: the provider is another service, with its own limits.
  for (let i = 0; i < orderIds.length; i += 8) {
    await Promise.all(
      orderIds.slice(i, i + 8).map(async (id) => {
        const [charges, refunds] = await Promise.all([payments.paymentsOf(id), payments.refundsOf(id)]);
        const succeeded = charges.filter((c) => c.status === 'succeeded');
        books.set(id, {
          captures: succeeded.length,
          captured: succeeded.reduce((a, c) => a + c.amount, 0),
          refunded: refunds.reduce((a, r) => a + r.amount, 0),
        });
      }),
    );
  }
  return books;
}

export async function auditMoney(
  db: Knex,
  payments: PaymentProvider,
  orderIds?: string[],
): Promise<MoneyViolation[]> {
  const q = db('orders as o').select(
    'o.id',
    'o.type',
    'o.status',
    'o.paid',
    'o.refunded',
    'o.total',
    db.raw(
      `(SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id AND i.refunded_quantity > i.quantity)::int AS over_refunded_lines`,
    ),
  );
  if (orderIds) q.whereIn('o.id', orderIds);
  const rows = await q;
  const books = await providerBooks(
    payments,
    rows.map((r) => r.id as string),
  );
  const violations: MoneyViolation[] = [];
  for (const r of rows) {
    const v = (rule: string, detail: string) => violations.push({ orderId: r.id, rule, detail });
    const { captures, captured, refunded: providerRefunded } = books.get(r.id)!;
    const maxCaptures = r.type === 'presale' ? 2 : 1;
    if (captures > maxCaptures) v('at most one capture per payment step', `${captures} successful charges`);
    if (providerRefunded > captured) v('refunds ≤ captures', `${providerRefunded} refunded of ${captured}`);
    if (captured !== r.paid)
      v('paid agrees with the provider', `order says ${r.paid}, provider captured ${captured}`);
    if (providerRefunded !== r.refunded)
      v(
        'refunded agrees with the provider',
        `order says ${r.refunded}, provider refunded ${providerRefunded}`,
      );
    if (r.over_refunded_lines > 0) v('refunded quantity ≤ quantity', `${r.over_refunded_lines} line(s)`);
    if (r.paid - r.refunded > r.total) v('kept ≤ total', `${r.paid - r.refunded} kept of ${r.total}`);
    const kept = captured - providerRefunded;
    if (r.status === 'CANCELLED' && kept > 0 && r.type !== 'presale')
      v('no money kept on a cancelled order', `${kept} kept`);
  }
  return violations;
}
