/**
 * One refund of an order spread over its payments (a presale's deposit and balance, a retried
 * charge), oldest first, one provider refund per payment keyed by (refund, payment).
 */
import type { PaymentProvider, PaymentRecord } from './provider';

/** The provider's idempotency key of one refund's share of one payment. */
export const refundKey = (orderId: string, refundId: string, paymentId: string) =>
  `${orderId}:refund:${refundId}:${paymentId}`;

/**
 * Refunds up to `limit` for one refund (`refundId`) of an order and returns what that refund
 * refunded in all. A retry first looks up what this refund already did on each payment, so it
 * never refunds twice, and returns the same total. The order's list of refunds may lag behind
 * the payments (a search): a payment with something refunded and no share of this refund listed
 * may hold that share from an earlier try, which, counted as nothing, would be taken again from
 * the next payment. That payment's own list (never behind) is read for it.
 */
export async function refundAcrossPayments(
  payments: PaymentProvider,
  args: {
    orderId: string;
    refundId: string;
    limit: number;
    reason: string;
    /** Payments not to touch (ones the order still counts as pending). */
    leave?: string[];
    /** The payments the order records, oldest first: read by id when its list leaves one out. */
    known?: string[];
    /**
     * Refuse (RefundShort), before refunding anything, a refund the payments cannot give in full
     * (refunded or disputed outside this service): a client's request answered, not retried.
     */
    refuseShort?: boolean;
  },
): Promise<number> {
  const { orderId, refundId, limit, reason } = args;
  const leave = new Set(args.leave);
  const key = (paymentId: string) => refundKey(orderId, refundId, paymentId);
  const [paymentsOfOrder, refundsOfOrder] = await Promise.all([
    listedOrKnown(payments, orderId, args.known ?? []),
    payments.refundsOf(orderId),
  ]);
  const done = new Map<string, number>();
  for (const p of paymentsOfOrder) {
    const earlier = refundsOfOrder.find((r) => r.idempotencyKey === key(p.paymentId));
    if (earlier) done.set(p.paymentId, earlier.amount);
  }
  for (const p of paymentsOfOrder) {
    if (done.has(p.paymentId) || p.refunded === 0) continue;
    const own = (await payments.refundsOfPayment(p.paymentId)).find(
      (r) => r.idempotencyKey === key(p.paymentId),
    );
    if (own) done.set(p.paymentId, own.amount);
  }
  let total = [...done.values()].reduce((a, b) => a + b, 0);
  const refundable = (p: PaymentRecord) => (p.status === 'succeeded' ? p.amount - p.refunded : 0);
  if (args.refuseShort) {
    const available =
      total +
      paymentsOfOrder
        .filter((p) => !done.has(p.paymentId) && !leave.has(p.paymentId))
        .reduce((a, p) => a + Math.max(0, refundable(p)), 0);
    if (available < limit) throw new RefundShort(available);
  }
  for (const p of paymentsOfOrder) {
    if (total >= limit) break;
    const left = refundable(p);
    if (done.has(p.paymentId) || left <= 0 || leave.has(p.paymentId)) continue;
    const refund = await payments.refund({
      idempotencyKey: key(p.paymentId),
      paymentId: p.paymentId,
      orderId,
      amount: Math.min(limit - total, left),
      reason,
    });
    total += refund.amount;
  }
  return total;
}

/** A refund the order's payments cannot give in full: `available` is what they can. */
export class RefundShort extends Error {
  constructor(readonly available: number) {
    super('the payments can refund less than this refund asks');
    this.name = 'RefundShort';
  }
}

/**
 * An order's payments, oldest first: its list, and each payment the order knows that the list
 * leaves out (a search behind a charge just made), read by id. A cancel a moment after the pay
 * would otherwise find nothing to refund, and the customer stay charged.
 */
export async function listedOrKnown(
  payments: PaymentProvider,
  orderId: string,
  known: readonly string[],
): Promise<PaymentRecord[]> {
  const listed = await payments.paymentsOf(orderId);
  const unlisted = known.filter((id) => !listed.some((p) => p.paymentId === id));
  const found = await Promise.all(unlisted.map((id) => payments.payment(id)));
  // Oldest first still (a partial refund empties the oldest first): each after those the order
  // recorded before it.
  const all = [...listed];
  for (const p of found) {
    if (!p) continue;
    const before = new Set(known.slice(0, known.indexOf(p.paymentId)));
    const at = all.reduce((last, q, i) => (before.has(q.paymentId) ? i + 1 : last), 0);
    all.splice(at, 0, p);
  }
  return all;
}

/**
 * What the provider did under a charge's key, for an answer that never came: the charge, a
 * decline, `processing` (ask again later), or nothing (it never arrived: safe to give up on).
 * A key the provider forgot and was asked again may carry two: one that took money (or may) is
 * the answer before a decline.
 */
export async function findCharge(
  payments: PaymentProvider,
  orderId: string,
  idempotencyKey: string,
): Promise<PaymentRecord | null> {
  const under = (await payments.paymentsOf(orderId)).filter((p) => p.idempotencyKey === idempotencyKey);
  return under.find((p) => p.status !== 'declined' && p.status !== 'canceled') ?? under[0] ?? null;
}
