/**
 * One refund spread over an order's payments (services/payment/refunds.ts), against an in-memory
 * provider that keeps refunds by idempotency key as a real one does.
 */
import type { PaymentProvider, RefundRequest } from '../../services/payment/provider';
import { refundAcrossPayments, RefundShort } from '../../services/payment/refunds';

/**
 * An order's payments, oldest first; `failAfter` refunds, the next call fails as a lost request
 * would. The order's list of refunds is a search (`refundsOf`) that `hideFromList` puts behind the
 * payments, which show those refunds and list them (`refundsOfPayment`); `refundElsewhere` is a
 * refund made in the provider's dashboard, never in the order's search.
 */
function fakeProvider(paid: { paymentId: string; amount: number }[], failAfter = Infinity) {
  const refunds = new Map<string, { refundId: string; paymentId: string; amount: number }>();
  let listed = (key: string) => !key.startsWith('dashboard:');
  /** The payments whose own list of refunds was read, in order. */
  const paymentLists: string[] = [];
  const calls: RefundRequest[] = [];
  const refundedOn = (paymentId: string) =>
    [...refunds.values()].filter((r) => r.paymentId === paymentId).reduce((a, r) => a + r.amount, 0);
  /** Payments the order's list (a search) does not show yet; read by id, they are there. */
  const unlisted = new Set<string>();
  const record = (p: { paymentId: string; amount: number }) => ({
    paymentId: p.paymentId,
    idempotencyKey: `charge:${p.paymentId}`,
    status: 'succeeded' as const,
    method: 'card',
    amount: p.amount,
    refunded: refundedOn(p.paymentId),
  });
  const provider: PaymentProvider = {
    charge: () => Promise.reject(new Error('not used')),
    cancel: () => Promise.reject(new Error('not used')),
    capture: () => Promise.reject(new Error('not used')),
    async refund(request) {
      if (calls.length >= failAfter) throw new Error('connection reset');
      calls.push(request);
      const earlier = refunds.get(request.idempotencyKey);
      if (earlier) return earlier;
      const payment = paid.find((p) => p.paymentId === request.paymentId)!;
      if (refundedOn(payment.paymentId) + request.amount > payment.amount)
        throw new Error(`refund of ${request.amount} exceeds what is left on ${payment.paymentId}`);
      const refund = {
        refundId: `re_${refunds.size + 1}`,
        paymentId: request.paymentId,
        amount: request.amount,
      };
      refunds.set(request.idempotencyKey, refund);
      return refund;
    },
    async paymentsOf() {
      return paid.filter((p) => !unlisted.has(p.paymentId)).map(record);
    },
    async payment(paymentId) {
      const p = paid.find((x) => x.paymentId === paymentId);
      return p ? record(p) : null;
    },
    async refundsOf() {
      return [...refunds]
        .filter(([key]) => listed(key))
        .map(([idempotencyKey, r]) => ({ ...r, idempotencyKey }));
    },
    async refundsOfPayment(paymentId) {
      paymentLists.push(paymentId);
      return [...refunds]
        .filter(([, r]) => r.paymentId === paymentId)
        .map(([idempotencyKey, r]) => ({ ...r, idempotencyKey }));
    },
  };
  return {
    provider,
    calls,
    paymentLists,
    /** What each payment has refunded so far. */
    refunded: () => Object.fromEntries(paid.map((p) => [p.paymentId, refundedOn(p.paymentId)])),
    failNoMore: () => (failAfter = Infinity),
    /** The order's list leaves this payment out, as a search just after the charge does. */
    unlist: (paymentId: string) => unlisted.add(paymentId),
    /** Refunds made so far stay out of the order's list (their payments show and list them). */
    hideFromList: () => {
      const hidden = new Set(refunds.keys());
      listed = (key) => !hidden.has(key) && !key.startsWith('dashboard:');
    },
    /** A refund made outside the service (the provider's dashboard), never in the order's list. */
    refundElsewhere: (paymentId: string, amount: number) => {
      refunds.set(`dashboard:${refunds.size}`, { refundId: `re_dash_${refunds.size}`, paymentId, amount });
    },
  };
}

const depositAndBalance = () => [
  { paymentId: 'pay_deposit', amount: 1000 },
  { paymentId: 'pay_balance', amount: 3000 },
];
const refund = { orderId: 'ord_1', refundId: 'ref_1', limit: 1500, reason: 'damaged' };

test('a partial refund empties the oldest payment first and takes the rest from the next', async () => {
  const fake = fakeProvider(depositAndBalance());
  expect(await refundAcrossPayments(fake.provider, refund)).toBe(1500);
  expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 500 });
  // The keys are what a retry looks up, in runs already recorded: they must not change.
  expect(fake.calls.map((c) => [c.idempotencyKey, c.amount])).toEqual([
    ['ord_1:refund:ref_1:pay_deposit', 1000],
    ['ord_1:refund:ref_1:pay_balance', 500],
  ]);
});

test('a retry after a run that stopped halfway refunds nothing twice and answers the same total', async () => {
  const fake = fakeProvider(depositAndBalance(), 1);
  await expect(refundAcrossPayments(fake.provider, refund)).rejects.toThrow('connection reset');
  expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 0 });

  fake.failNoMore();
  expect(await refundAcrossPayments(fake.provider, refund)).toBe(1500);
  expect(await refundAcrossPayments(fake.provider, refund)).toBe(1500);
  expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 500 });
  // The deposit was refunded once: the retries found it by key and did not ask the provider again.
  expect(fake.calls.map((c) => c.paymentId)).toEqual(['pay_deposit', 'pay_balance']);
});

test('a refund stops at its limit and leaves the later payments alone', async () => {
  const fake = fakeProvider(depositAndBalance());
  expect(await refundAcrossPayments(fake.provider, { ...refund, limit: 1000 })).toBe(1000);
  expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 0 });
  expect(fake.calls).toHaveLength(1);
});

test('a second refund of the order skips what the first emptied and takes only what is left', async () => {
  const fake = fakeProvider(depositAndBalance());
  await refundAcrossPayments(fake.provider, refund);
  const rest = { ...refund, refundId: 'cancel', limit: Number.MAX_SAFE_INTEGER };
  expect(await refundAcrossPayments(fake.provider, rest)).toBe(2500);
  expect(await refundAcrossPayments(fake.provider, rest)).toBe(2500);
  expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 3000 });
});

describe("a retry while the provider's search of the order's refunds lags behind its payments", () => {
  test("finds its earlier share in the payment's own list and takes nothing twice", async () => {
    const fake = fakeProvider(depositAndBalance(), 1);
    await expect(refundAcrossPayments(fake.provider, refund)).rejects.toThrow('connection reset');
    expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 0 });
    fake.failNoMore();
    fake.hideFromList();

    // The deposit shows refunded, the order's search has no refund of it: its own list is read.
    expect(await refundAcrossPayments(fake.provider, refund)).toBe(1500);
    expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 500 });
    expect(fake.paymentLists).toEqual(['pay_deposit']);
    expect(fake.calls.map((c) => [c.paymentId, c.amount])).toEqual([
      ['pay_deposit', 1000],
      ['pay_balance', 500],
    ]);
  });

  test("a refund made in the provider's dashboard is someone else's: what is left is refunded, no more", async () => {
    const fake = fakeProvider(depositAndBalance());
    fake.refundElsewhere('pay_deposit', 400);
    expect(await refundAcrossPayments(fake.provider, refund)).toBe(1500);
    expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 900 });
    expect(fake.paymentLists).toEqual(['pay_deposit']);
  });

  test("a search that agrees with the payments costs no payment's list", async () => {
    const fake = fakeProvider(depositAndBalance(), 1);
    await expect(refundAcrossPayments(fake.provider, refund)).rejects.toThrow('connection reset');
    fake.failNoMore();
    expect(await refundAcrossPayments(fake.provider, refund)).toBe(1500);
    expect(fake.paymentLists).toEqual([]);
  });
});

test('a payment the order’s list does not show yet is read by its id, in its place, and refunded once', async () => {
  const fake = fakeProvider(depositAndBalance());
  fake.unlist('pay_deposit');
  // Without the order's own ids, the search's answer is all there is: the deposit is missed.
  const blind = { ...refund, refundId: 'ref_blind', limit: 500 };
  expect(await refundAcrossPayments(fake.provider, blind)).toBe(500);
  expect(fake.refunded()).toEqual({ pay_deposit: 0, pay_balance: 500 });
  // Read by id, in its place: the oldest (the deposit) is emptied first.
  const known = ['pay_deposit', 'pay_balance', 'pay_gone'];
  expect(await refundAcrossPayments(fake.provider, { ...refund, limit: 1500, known })).toBe(1500);
  expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 1000 });
  // A retry finds its own share on the unlisted payment by key, and takes nothing more.
  expect(await refundAcrossPayments(fake.provider, { ...refund, limit: 1500, known })).toBe(1500);
  expect(fake.calls.map((c) => [c.paymentId, c.amount])).toEqual([
    ['pay_balance', 500],
    ['pay_deposit', 1000],
    ['pay_balance', 500],
  ]);
});

test('a client’s refund the payments cannot give in full is refused before anything is refunded', async () => {
  const fake = fakeProvider(depositAndBalance());
  // 3000 of the 4000 refunded in the provider's dashboard: 1000 is left.
  fake.refundElsewhere('pay_balance', 3000);
  const short = { ...refund, limit: 1500, refuseShort: true };
  await expect(refundAcrossPayments(fake.provider, short)).rejects.toEqual(new RefundShort(1000));
  await expect(refundAcrossPayments(fake.provider, short)).rejects.toMatchObject({ available: 1000 });
  expect(fake.calls).toEqual([]);
  // What can be given is given, once.
  expect(await refundAcrossPayments(fake.provider, { ...short, limit: 1000 })).toBe(1000);
  expect(await refundAcrossPayments(fake.provider, { ...short, limit: 1000 })).toBe(1000);
  expect(fake.refunded()).toEqual({ pay_deposit: 1000, pay_balance: 3000 });
});
