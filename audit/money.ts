/**
 * The money rules, checked from the provider's own records (over its API) and the order center's: per order, at most
 * one successful charge per payment step, refunds ≤ captures, the order's `paid` and `refunded`
 * agree with the provider, no line refunds more units than it has, and no money is kept on a
 * cancelled order unless the rules say so (a forfeited presale deposit); every charge the provider
 * made is on its order's list of payments, for its amount, nothing pending is left behind on an
 * order that ended, and what the provider holds (authorised, not captured) is what the order says
 * it holds, nothing on an order that ended unless it is flagged for support. An imported order's
 * money is its source's (`externalRules`).
 */
import { SEEDED_REQUEST_ID } from '../domain/order';
import type { Knex } from 'knex';
import { isTerminal } from '../domain/machine';
import { machines, type OrderType } from '../domain/machines';
import { TransientPaymentError, type PaymentProvider } from '../services/payment/provider';

export interface MoneyViolation {
  orderId: string;
  rule: string;
  detail: string;
}

/** A read of the provider's records, asked again through its hiccups (a faulty sandbox answers 503 now and then). */
async function patiently<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof TransientPaymentError) || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100 * Math.min(attempt, 10)));
    }
  }
}

/** Per order, what the provider's own records say: successful charges, their sum, refunds. */
async function providerBooks(payments: PaymentProvider, orderIds: string[]) {
  const books = new Map<
    string,
    { captures: number; captured: number; refunded: number; held: number; charges: Map<string, number> }
  >();
  // A few at a time: the provider is another service, with its own limits.
  for (let i = 0; i < orderIds.length; i += 8) {
    await Promise.all(
      orderIds.slice(i, i + 8).map(async (id) => {
        const [charges, refunds] = await Promise.all([
          patiently(() => payments.paymentsOf(id)),
          patiently(() => payments.refundsOf(id)),
        ]);
        const succeeded = charges.filter((c) => c.status === 'succeeded');
        books.set(id, {
          captures: succeeded.length,
          captured: succeeded.reduce((a, c) => a + c.amount, 0),
          refunded: refunds.reduce((a, r) => a + r.amount, 0),
          held: charges.filter((c) => c.status === 'authorized').reduce((a, c) => a + c.amount, 0),
          charges: new Map(succeeded.map((c) => [c.paymentId, c.amount])),
        });
      }),
    );
  }
  return books;
}

/**
 * What a cancelled presale may keep (domain/machines/presale.ts): its deposit when its customer
 * (or their channel) cancelled before the balance was paid, or the balance window expired (the
 * workflow refunds it then if the customer never had a fair chance: keeping less is no breach);
 * nothing when staff cancelled it, or after the balance was paid.
 */
function depositKept(
  cancel: { from: string; action: string; actor: string } | null,
  deposit: number,
): number {
  if (!cancel) return 0;
  const role = cancel.actor.split(':')[0]!;
  const beforeBalance = cancel.from === 'DEPOSIT_PAID' || cancel.from === 'PENDING_BALANCE';
  const forfeits =
    (cancel.action === 'expire' && cancel.from === 'PENDING_BALANCE') ||
    (cancel.action === 'cancel' && beforeBalance && (role === 'customer' || role === 'channel'));
  return forfeits ? deposit : 0;
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
    db.raw(`(o.details->'attention') IS NOT NULL AS flagged`),
    db.raw(
      `(SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id AND (i.refunded_quantity + i.exchanged_quantity > i.quantity OR COALESCE(i.refunded_amount, 0) + i.exchanged_amount > i.total))::int AS over_refunded_lines`,
    ),
    db.raw(`o.details->'payments' AS payments`),
    // A presale's deposit, and how the order was cancelled: the presale rule may keep the one.
    db.raw(`(o.details->'presale'->>'deposit')::bigint AS deposit`),
    db.raw(
      `(SELECT json_build_object('from', h."from", 'action', h.action, 'actor', h.actor) FROM order_history h WHERE h.order_id = o.id AND h."to" = 'CANCELLED' ORDER BY h.seq DESC LIMIT 1) AS cancelled_by`,
    ),
    // An edit confirmed on a paid order that charged what it adds: one more capture each.
    db.raw(
      `(SELECT COUNT(*) FROM order_edits e WHERE e.order_id = o.id AND e.status = 'CONFIRMED' AND e.owed > 0)::int AS edits`,
    ),
    db.raw(
      `(SELECT COALESCE(SUM(f.amount), 0) FROM order_refunds f WHERE f.order_id = o.id AND f.owed_by IS NOT NULL)::bigint AS owed`,
    ),
  );
  if (orderIds) q.whereIn('o.id', orderIds);
  // Seeded orders (`npm run seed`, for queries) were never paid at the provider: not audited.
  else q.whereRaw('o.request_id IS DISTINCT FROM ?', [SEEDED_REQUEST_ID]);
  const rows = await q;
  const books = await providerBooks(
    payments,
    rows.map((r) => r.id as string),
  );
  const violations: MoneyViolation[] = [];
  for (const r of rows) {
    const v = (rule: string, detail: string) => violations.push({ orderId: r.id, rule, detail });
    const { captures, captured, refunded: providerRefunded, held } = books.get(r.id)!;
    if (r.over_refunded_lines > 0)
      v(
        'a line refunds and exchanges no more than its units and its total',
        `${r.over_refunded_lines} line(s)`,
      );
    if (r.type === 'external') {
      externalRules(r, { captured, providerRefunded, held }, v);
      continue;
    }
    // Orders placed before payments were listed carry no list: nothing to compare.
    const listed = (r.payments ?? null) as
      { id: string; status: string; amount: number; refunded?: number }[] | null;
    // A charge that came after its order ended, refunded in full as such, is no step's second capture.
    const lateRefunded = (listed ?? []).filter(
      (p) => p.status === 'succeeded' && p.amount > 0 && p.refunded === p.amount,
    ).length;
    const maxCaptures = (r.type === 'presale' ? 2 : 1) + r.edits + lateRefunded;
    if (captures > maxCaptures) v('at most one capture per payment step', `${captures} successful charges`);
    if (providerRefunded > captured) v('refunds ≤ captures', `${providerRefunded} refunded of ${captured}`);
    if (captured !== r.paid)
      v('paid agrees with the provider', `order says ${r.paid}, provider captured ${captured}`);
    if (providerRefunded !== r.refunded)
      v(
        'refunded agrees with the provider',
        `order says ${r.refunded}, provider refunded ${providerRefunded}`,
      );
    if (r.paid - r.refunded > r.total) v('kept ≤ total', `${r.paid - r.refunded} kept of ${r.total}`);
    const kept = captured - providerRefunded;
    if (r.status === 'CANCELLED' && kept > 0) {
      const mayKeep = r.type === 'presale' ? depositKept(r.cancelled_by, Number(r.deposit ?? 0)) : 0;
      if (kept > mayKeep)
        v(
          'no money kept on a cancelled order',
          `${kept} kept${mayKeep ? `, the deposit is ${mayKeep}` : ''}`,
        );
    }
    if (listed) {
      const { charges } = books.get(r.id)!;
      for (const [id, amount] of charges) {
        const onOrder = listed.find((p) => p.id === id);
        if (!onOrder || onOrder.status !== 'succeeded' || onOrder.amount !== amount)
          v(
            'every charge is on its order',
            `${id} (${amount}) is ${onOrder ? `${onOrder.status} ${onOrder.amount}` : 'missing'}`,
          );
      }
      for (const p of listed.filter((p) => p.status === 'succeeded' && !charges.has(p.id)))
        v('every charge on an order was made', `${p.id} is not a charge at the provider`);
      // What the order lists as held is what the provider holds (a flagged order is support's to settle).
      const onHold = listed.filter((p) => p.status === 'authorized').reduce((a, p) => a + p.amount, 0);
      if (!r.flagged && onHold !== held)
        v('held agrees with the provider', `order holds ${onHold}, provider holds ${held}`);
      const pending = listed.filter((p) => p.status === 'processing' || p.status === 'requires_action');
      if (pending.length > 0 && isTerminal(machines[r.type as OrderType], r.status))
        v('nothing pending on an order that ended', pending.map((p) => p.id).join(', '));
    }
  }
  violations.push(...(await auditExchanges(db, payments, orderIds)));
  return violations;
}

/**
 * An exchange's difference is charged under its own id: at most one charge; what the provider
 * kept of it is the difference when the exchange went ahead (paid), nothing when it was not made;
 * the exchange's record of its payment agrees with the provider.
 */
async function auditExchanges(
  db: Knex,
  payments: PaymentProvider,
  orderIds?: string[],
): Promise<MoneyViolation[]> {
  const q = db('exchanges').select('id', 'order_id', 'status', 'difference', 'payment');
  if (orderIds) q.whereIn('order_id', orderIds);
  const rows: {
    id: string;
    order_id: string;
    status: string;
    difference: number;
    payment: { status: string; amount: number } | null;
  }[] = await q;
  const books = await providerBooks(
    payments,
    rows.map((r) => r.id),
  );
  const violations: MoneyViolation[] = [];
  for (const r of rows) {
    const v = (rule: string, detail: string) =>
      violations.push({ orderId: r.order_id, rule, detail: `exchange ${r.id}: ${detail}` });
    const { captures, captured, refunded, held } = books.get(r.id)!;
    if (captures > 1) v('at most one charge per exchange', `${captures} successful charges`);
    if (held > 0) v('an exchange holds nothing', `${held} held`);
    const kept = captured - refunded;
    const notMade = r.status === 'REJECTED' || r.status === 'CANCELLED';
    const paid = r.payment?.status === 'succeeded';
    const expected = notMade || !paid ? 0 : Number(r.difference);
    if (kept !== expected)
      v('an exchange keeps its difference, or nothing if not made', `kept ${kept}, expected ${expected}`);
    if (['RECEIVED', 'SHIPPED', 'COMPLETED', 'UNRETURNED'].includes(r.status) && r.difference > 0 && !paid)
      v('goods move only once the difference is paid', `${r.status} unpaid`);
  }
  return violations;
}

/**
 * An order imported from another order system: its money was taken there and is given back there.
 * Nothing of it is at this service's provider; `paid` is what the source took (its external
 * payments), `refunded` what refunds recorded as owed by the source channel add up to.
 */
function externalRules(
  r: {
    status: string;
    paid: number;
    refunded: number;
    total: number;
    owed: string | number;
    payments: unknown;
  },
  provider: { captured: number; providerRefunded: number; held: number },
  v: (rule: string, detail: string) => void,
): void {
  if (provider.captured > 0 || provider.providerRefunded > 0 || provider.held > 0)
    v(
      'an imported order has nothing at the provider',
      `captured ${provider.captured}, refunded ${provider.providerRefunded}, held ${provider.held}`,
    );
  const listed = (r.payments ?? []) as { status: string; amount: number; external?: unknown }[];
  const taken = listed
    .filter((p) => p.external && p.status === 'succeeded')
    .reduce((a, p) => a + p.amount, 0);
  if (listed.some((p) => !p.external))
    v('an imported order is paid by its source only', 'a provider payment');
  if (taken !== r.paid) v('paid is what the source took', `order says ${r.paid}, external payments ${taken}`);
  if (Number(r.owed) !== r.refunded)
    v('refunded is what the source owes', `order says ${r.refunded}, owed refunds ${r.owed}`);
  if (r.paid - r.refunded > r.total) v('kept ≤ total', `${r.paid - r.refunded} kept of ${r.total}`);
  if (r.status === 'CANCELLED' && r.paid - r.refunded > 0)
    v('no money kept on a cancelled order', `${r.paid - r.refunded} kept`);
}
