/** Issue 6: money moves exactly once, and a payment racing the payment timeout ends one way only. */
import { randomUUID } from 'node:crypto';
import { createActivities } from '../../activities';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import type { RefundRequest } from '../../services/payment/provider';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, providerRefunded, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const db = testDb();
afterAll(() => db.destroy());

async function newOrder(sku: string, baseUrl?: string) {
  const owner = customer();
  const reply = await call('POST', '/v1/orders', {
    as: owner,
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  expect(reply.status).toBe(201);
  return {
    id: reply.body.order.id as string,
    owner,
    createdAt: Date.parse(reply.body.order.createdAt),
    deadline: Date.parse(reply.body.order.paymentDeadline),
  };
}

test('a declined card, then tok_ok: the order is paid once', async () => {
  const sku = uniqueSku('pay');
  await putProduct(sku, { price: 3000 });
  const { id, owner } = await newOrder(sku);
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_declined' } })).body,
  ).toMatchObject({
    status: 402,
    code: 'card_declined',
  });
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  // A second pay is refused by the machine, not charged.
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(409);
  const rows = (await providerPayments(id)).map(({ status, amount, decline_code }) => ({
    status,
    amount,
    decline_code,
  }));
  expect(rows).toEqual([
    { status: 'declined', amount: 3800, decline_code: 'card_declined' },
    { status: 'succeeded', amount: 3800, decline_code: null },
  ]);
  expect(paid.body.order.amounts.paid).toBe(3800);
});

test('a free order (a code that costs nothing) is paid without a charge; a charge the provider refuses as invalid is a decline, never retried', async () => {
  const sku = uniqueSku('free');
  await putProduct(sku, { price: 0, kind: 'virtual', stock: 5 });
  const owner = customer();
  const order = (
    await call('POST', '/v1/orders', { as: owner, body: { type: 'virtual', items: [{ sku, quantity: 1 }] } })
  ).body.order;
  expect(order.amounts.total).toBe(0);
  const paid = await call('POST', `/v1/orders/${order.id}/pay`, {
    as: owner,
    body: { paymentToken: 'tok_ok' },
  });
  expect(paid.status).toBe(200);
  expect(paid.body.order).toMatchObject({ status: 'PAID', payments: [], amounts: { paid: 0 } });
  // The code is issued as for any paid order.
  const delivered = await waitForOrder(order.id, owner, (o) => o.status === 'DELIVERED');
  expect(delivered.delivery.code).toBeTruthy();
  expect(await providerPayments(order.id)).toEqual([]);

  // The provider refuses a charge it will never take (here: a currency it does not know): 402 at once.
  const provider = new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!);
  expect(
    await provider.charge({
      idempotencyKey: `bad-${randomUUID()}`,
      orderId: order.id,
      amount: 100,
      currency: 'usd',
      token: 'tok_ok',
    }),
  ).toMatchObject({ status: 'declined', code: 'invalid_request_error' });
});

test('tok_flaky pays after its transient failures, with exactly one successful charge', async () => {
  const sku = uniqueSku('flaky');
  await putProduct(sku, { price: 12000 });
  const { id, owner } = await newOrder(sku);
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_flaky' } });
  expect(paid.status).toBe(200);
  const rows = (await providerPayments(id)).map(({ status, attempts, amount }) => ({
    status,
    attempts,
    amount,
  }));
  // Two transient failures and the success, all under one idempotency key: one row, one charge.
  expect(rows).toEqual([{ status: 'succeeded', attempts: 3, amount: 12000 }]);
});

describe('a payment racing the payment timeout', () => {
  let services: OwnServices;
  beforeAll(async () => {
    // A 6s deadline (16 creates on a loaded machine end well before it) and a slow provider, so
    // payments land before, across and after it.
    services = await startOwnServices('race', { PAYMENT_TIMEOUT: '6s', PAYMENT_SANDBOX_LATENCY: '700ms' });
  }, 90_000);
  afterAll(() => services?.stopAll());

  test('ends as exactly one of: paid, or cancelled with no money kept', async () => {
    const sku = uniqueSku('race');
    await putProduct(sku, { stock: 100, price: 1500 }, services.apiUrl);
    const orders = await Promise.all(Array.from({ length: 16 }, () => newOrder(sku, services.apiUrl)));
    // Payments sent from 0.6s before the deadline to 3.15s after it: the last ones come well after
    // the timer, however late a loaded machine runs it.
    const replies = await Promise.all(
      orders.map(async (order, i) => {
        const at = order.deadline - 600 + i * 250;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        return call('POST', `/v1/orders/${order.id}/pay`, {
          as: order.owner,
          baseUrl: services.apiUrl,
          body: { paymentToken: 'tok_ok' },
        });
      }),
    );
    const outcomes = { paid: 0, cancelled: 0 };
    for (const [i, order] of orders.entries()) {
      const final = await waitForOrder(
        order.id,
        merchant,
        (o) => ['IN_PRODUCTION', 'CANCELLED'].includes(o.status),
        20_000,
        services.apiUrl,
      );
      const charged = (await providerPayments(order.id))
        .filter((p) => p.status === 'succeeded')
        .reduce((a, p) => a + p.amount, 0);
      const refunded = await providerRefunded(order.id);
      if (final.status === 'IN_PRODUCTION') {
        outcomes.paid++;
        expect(replies[i]!.status).toBe(200);
        expect({ charged, refunded }).toEqual({ charged: final.amounts.total, refunded: 0 });
        expect(final.history.map((h: any) => h.action)).not.toContain('expire');
      } else {
        outcomes.cancelled++;
        expect(replies[i]!.status).toBe(409);
        expect(final.history.at(-1)).toMatchObject({ action: 'expire', reason: 'payment_timeout' });
        expect(charged - refunded).toBe(0);
      }
    }
    // The spread straddles the deadline: both outcomes happen, and every order ended as one of them.
    expect(outcomes.paid + outcomes.cancelled).toBe(16);
    expect(outcomes.paid).toBeGreaterThan(0);
    expect(outcomes.cancelled).toBeGreaterThan(0);
    expect(
      (await call('GET', `/v1/products/${sku}`, { as: merchant, baseUrl: services.apiUrl })).body.stock,
    ).toMatchObject({
      onHand: 100 - outcomes.paid,
      reserved: 0,
      available: 100 - outcomes.paid,
    });
  }, 90_000);
});

describe('refund activities run twice, as after a worker killed before it reported, refund once', () => {
  const activities = createActivities({
    db,
    payments: new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!),
    defaultInventoryStrategy: 'on_order',
  });
  const refundedAtProvider = providerRefunded;
  const pay = (orderId: string, attempt: number, amount: number) =>
    activities.capturePayment({ orderId, attempt, amount, currency: 'USD', token: 'tok_ok' });

  test('a cancel refund that emptied the payment answers the same amount again', async () => {
    const orderId = `ord_refund_retry_${randomUUID().slice(0, 8)}`;
    await pay(orderId, 1, 2800);
    const args = { orderId, tag: 'cancel', reason: 'cancelled' };
    expect(await activities.refundAll(args)).toBe(2800);
    // The retry must report what the first run refunded, or the order would record 0.
    expect(await activities.refundAll(args)).toBe(2800);
    expect(await refundedAtProvider(orderId)).toBe(2800);
  });

  test('a refund spread over a deposit and a balance is neither repeated nor taken again elsewhere', async () => {
    const orderId = `ord_refund_retry_${randomUUID().slice(0, 8)}`;
    await pay(orderId, 1, 1000);
    await pay(orderId, 2, 3000);
    const args = { orderId, refundId: 'ref_1', amount: 1500, reason: 'damaged' };
    expect(await activities.refundAmount(args)).toBe(1500);
    expect(await activities.refundAmount(args)).toBe(1500);
    expect(await refundedAtProvider(orderId)).toBe(1500);
    // What is left is still refundable, once.
    const all = { orderId, tag: 'cancel', reason: 'cancelled' };
    expect(await activities.refundAll(all)).toBe(2500);
    expect(await activities.refundAll(all)).toBe(2500);
    expect(await refundedAtProvider(orderId)).toBe(4000);
  });

  test("a retry while the provider's search of the order's refunds lags takes nothing again from the balance", async () => {
    const orderId = `ord_refund_lag_${randomUUID().slice(0, 8)}`;
    await pay(orderId, 1, 1000);
    await pay(orderId, 2, 3000);
    // The sandbox's search by order leaves out refunds for a minute; the payments show them at once.
    const behind = await fetch(`${process.env.PAYMENT_PROVIDER_URL}/v1/sandbox/refund-search/${orderId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ behindMs: 60_000 }),
    });
    expect(behind.status).toBe(200);
    // The deposit's refund is made and its answer lost: the activity fails and is run again.
    const lossy = createActivities({
      db,
      payments: new AnswerLost(process.env.PAYMENT_PROVIDER_URL!, 1),
      defaultInventoryStrategy: 'on_order',
    });
    const args = { orderId, refundId: 'ref_1', amount: 1500, reason: 'damaged' };
    await expect(lossy.refundAmount(args)).rejects.toThrow();
    expect(await refundedAtProvider(orderId)).toBe(1000);
    expect(await activities.refundAmount(args)).toBe(1500);
    // 1000 from the deposit, 500 from the balance: not the deposit's 1000 taken again from the balance.
    expect(await refundedAtProvider(orderId)).toBe(1500);
  });
});

test("a cancel a moment after the pay, while the provider's search does not show the payment yet, refunds it", async () => {
  const sku = uniqueSku('lagpay');
  await putProduct(sku, { price: 3000 });
  const { id, owner } = await newOrder(sku);
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  // The order's list of payments is a search a minute behind: the charge just made is not in it.
  const behind = await fetch(`${process.env.PAYMENT_PROVIDER_URL}/v1/sandbox/payment-search/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ behindMs: 600_000 }),
  });
  expect(behind.status).toBe(200);
  const listed = await new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!).paymentsOf(id);
  expect(listed).toEqual([]);
  const cancelled = await call('POST', `/v1/orders/${id}/cancel`, {
    as: owner,
    body: { reason: 'changed my mind' },
  });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: 3800, refunded: 3800 },
  });
  expect(await providerRefunded(id)).toBe(3800);
});

test('a refund the payment cannot give in full (refunded outside this service) is a 422 with what it can, and the order goes on', async () => {
  const sku = uniqueSku('short');
  await putProduct(sku, { price: 3000 });
  const { id, owner } = await newOrder(sku);
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000);
  expect(
    (
      await call('POST', `/v1/orders/${id}/ship`, {
        as: merchant,
        body: { carrier: 'UPS', trackingNumber: 'S1' },
      })
    ).status,
  ).toBe(200);
  // 3000 of the 3800 refunded in the provider's dashboard: 800 is left there.
  const dashboard = await fetch(`${process.env.PAYMENT_PROVIDER_URL}/v1/refunds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `dashboard-${id}` },
    body: JSON.stringify({ payment_intent: paid.body.order.payments[0].id, amount: 3000 }),
  });
  expect(dashboard.status).toBe(200);
  const refused = await call('POST', `/v1/orders/${id}/refunds`, {
    as: merchant,
    body: { amount: 1500, reason: 'late parcel' },
  });
  expect(refused.body).toMatchObject({ status: 422, code: 'AMOUNT_TOO_LARGE', refundable: 800 });
  // Nothing was taken, and the order takes its next action.
  const refund = await call('POST', `/v1/orders/${id}/refunds`, {
    as: merchant,
    body: { amount: 500, reason: 'late parcel' },
  });
  expect(refund.status).toBe(201);
  const order = (await call('GET', `/v1/orders/${id}`, { as: owner })).body.order;
  expect(order).toMatchObject({ status: 'SHIPPED', amounts: { refunded: 500 } });
});

test("a return's refund the payment cannot give in full (refunded outside this service) gives what it can, flags the rest, and the order goes on", async () => {
  const sku = uniqueSku('shortret');
  await putProduct(sku, { price: 3000 });
  const owner = customer();
  const created = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 2 }] } });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  const unit = created.body.order.items[0].total / 2;
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000);
  const ship = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: 'S2' },
  });
  expect(ship.status).toBe(200);
  // All but 800 refunded in the provider's dashboard.
  const total = paid.body.order.amounts.paid as number;
  const dashboard = await fetch(`${process.env.PAYMENT_PROVIDER_URL}/v1/refunds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `dashboard-${id}` },
    body: JSON.stringify({ payment_intent: paid.body.order.payments[0].id, amount: total - 800 }),
  });
  expect(dashboard.status).toBe(200);
  // A unit comes back: its refund can only be 800 now.
  const requested = await call('POST', `/v1/orders/${id}/returns`, {
    as: owner,
    body: { items: [{ sku, quantity: 1 }], reason: 'too small' },
  });
  expect(requested.status).toBe(201);
  const ret = requested.body.return.id as string;
  expect((await call('POST', `/v1/returns/${ret}/approve`, { as: merchant, body: {} })).status).toBe(200);
  expect((await call('POST', `/v1/returns/${ret}/receive`, { as: merchant, body: {} })).status).toBe(200);
  const flagged = await waitForOrder(id, merchant, (o) => o.attention?.code === 'refund_short', 30_000);
  expect(flagged.amounts.refunded).toBe(800);
  expect(flagged.attention.detail).toBe(String(unit - 800));
  const refunds = await call('GET', `/v1/refunds?orderId=${id}`, { as: merchant });
  expect(refunds.body.items).toEqual([expect.objectContaining({ source: 'return', amount: 800 })]);
  expect(await providerRefunded(id)).toBe(total);
  // The order's lock is free: its next action is answered (refused: nothing is left to refund).
  const next = await call('POST', `/v1/orders/${id}/refunds`, {
    as: merchant,
    body: { amount: 100, reason: 'late parcel' },
  });
  expect(next.body).toMatchObject({ status: 422, code: 'AMOUNT_TOO_LARGE', refundable: 0 });
  // The other unit comes back too (the order refunded in full, shipping with it): nothing is left
  // to give, and the flag says all that is still owed.
  const again = await call('POST', `/v1/orders/${id}/returns`, {
    as: owner,
    body: { items: [{ sku, quantity: 1 }], reason: 'too small' },
  });
  expect(again.status).toBe(201);
  const second = again.body.return.id as string;
  expect((await call('POST', `/v1/returns/${second}/approve`, { as: merchant, body: {} })).status).toBe(200);
  expect((await call('POST', `/v1/returns/${second}/receive`, { as: merchant, body: {} })).status).toBe(200);
  const owed = await waitForOrder(id, merchant, (o) => o.status === 'REFUNDED', 30_000);
  expect(owed.attention).toMatchObject({ code: 'refund_short', detail: String(total - 800) });
  expect(owed.amounts.refunded).toBe(800);
  expect(await providerRefunded(id)).toBe(total);
});

test("the sandbox's refund lists and their switch refuse what is not an id or a bounded wait", async () => {
  const sandbox = process.env.PAYMENT_PROVIDER_URL!;
  for (const query of [
    '',
    '?order=ord_a&payment_intent=pi_b',
    '?order=ord_a&payment_intent=x%00y',
    '?order[k]=v',
    '?payment_intent=a,b;--',
  ])
    expect((await fetch(`${sandbox}/v1/refunds${query}`)).status).toBe(400);
  expect((await fetch(`${sandbox}/v1/refunds?payment_intent=pi_none`)).status).toBe(200);
  for (const search of ['refund-search', 'payment-search']) {
    const put = (orderId: string, body: unknown) =>
      fetch(`${sandbox}/v1/sandbox/${search}/${orderId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const body of [{}, { behindMs: -1 }, { behindMs: 1.5 }, { behindMs: '5' }, { behindMs: 3_600_001 }])
      expect((await put('ord_a', body)).status).toBe(400);
    expect((await put('ord%00a', { behindMs: 0 })).status).toBe(400);
    expect((await put('ord_a', { behindMs: 0 })).status).toBe(200);
  }
});

/** The real provider, whose first `lose` refunds are made and their answers lost (the connection drops). */
class AnswerLost extends HttpPaymentProvider {
  constructor(
    url: string,
    private lose: number,
  ) {
    super(url);
  }

  override async refund(request: RefundRequest): Promise<{ refundId: string; amount: number }> {
    const answer = await super.refund(request);
    if (this.lose-- > 0) throw new Error('the connection dropped before the answer');
    return answer;
  }
}
