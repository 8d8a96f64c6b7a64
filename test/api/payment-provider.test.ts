/**
 * Issue 19: the payment provider is another system (sandboxes/payments, its own process and
 * database) reached over HTTP. An answer that never comes is looked up, never guessed; a full
 * refund gives back what the order held (the coupon use, a digital code).
 */
import { randomUUID } from 'node:crypto';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, providerRefunded, testDb, testTemporal } from '../support/backends';
import { checkInvariants } from '../../audit/invariants';
import { HttpPaymentProvider } from '../../services/payment/http-provider';

const db = testDb();
afterAll(() => db.destroy());

async function unpaidOrder(price: number, extra: Record<string, unknown> = {}, kind = 'physical') {
  const sku = uniqueSku('prov');
  await putProduct(sku, { price, kind, stock: 100 });
  const owner = customer();
  const reply = await call('POST', '/v1/orders', {
    as: owner,
    body: { ...(kind === 'virtual' ? { type: 'virtual' } : {}), items: [{ sku, quantity: 1 }], ...extra },
  });
  expect(reply.status).toBe(201);
  const { amounts } = reply.body.order;
  return {
    id: reply.body.order.id as string,
    owner,
    total: amounts.total as number,
    discount: amounts.discount as number,
  };
}

const pay = (id: string, owner: ReturnType<typeof customer>, paymentToken: string) =>
  call('POST', `/v1/orders/${id}/pay`, {
    as: owner,
    body: { paymentToken },
    headers: { 'idempotency-key': randomUUID() },
  });

test('every answer to a charge is lost: the provider is asked, the capture found, the order paid once', async () => {
  const { id, owner, total } = await unpaidOrder(4100);
  const first = await pay(id, owner, 'tok_lost');
  expect(first.status).toBe(200);
  expect(first.body.order).toMatchObject({ status: 'PAID', amounts: { paid: total } });
  // The customer, unsure, pays again: the order is paid, so the machine refuses; nothing is charged.
  expect((await pay(id, owner, 'tok_ok')).status).toBe(409);
  const charges = await providerPayments(id);
  expect(charges.map((c) => [c.status, c.amount])).toEqual([['succeeded', total]]);
  // The create was answered never, and asked more than once under one key.
  expect(charges[0]!.attempts).toBeGreaterThan(1);
}, 60_000);

test('a provider slower than the client: the same key is asked again until the one capture answers', async () => {
  const { id, owner, total } = await unpaidOrder(2300);
  const paid = await pay(id, owner, 'tok_slow');
  expect(paid.status).toBe(200);
  expect(paid.body.order.amounts.paid).toBe(total);
  expect((await providerPayments(id)).map((c) => [c.status, c.amount])).toEqual([['succeeded', total]]);
}, 60_000);

test('a full refund gives the coupon use back; a partial one does not', async () => {
  const code = `ONCE-${randomUUID().slice(0, 8)}`.toUpperCase();
  expect(
    (
      await call('PUT', `/v1/promotions/${code}`, {
        as: merchant,
        body: { kind: 'fixed', value: 100, maxUses: 1 },
      })
    ).status,
  ).toBe(201);
  const { id, owner, total } = await unpaidOrder(3000, { couponCode: code });
  expect((await pay(id, owner, 'tok_ok')).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  const usage = async () => (await call('GET', `/v1/promotions/${code}`, { as: merchant })).body;
  expect(await usage()).toMatchObject({ used: 1, redeemed: 1 });

  const refund = await call('POST', `/v1/orders/${id}/refunds`, {
    as: merchant,
    body: { reason: 'out of stock' },
  });
  expect(refund.status).toBe(201);
  expect(refund.body.refund.amount).toBe(total);
  expect(await providerRefunded(id)).toBe(total);
  const order = await waitForOrder(id, owner, (o) => o.status === 'REFUNDED');
  expect(order.amounts.refunded).toBe(total);
  expect(await usage()).toMatchObject({ used: 0, redeemed: 0 });
  // The use is free again: another customer's order gets the discount.
  const next = await unpaidOrder(3000, { couponCode: code });
  expect(next.discount).toBe(100);
});

/** The code as the sandbox's code vendor (issue 20, item 8) keeps it. */
const vendorCode = async (orderId: string) =>
  (await fetch(`${process.env.WAREHOUSE_URL}/v1/codes/${orderId}`)).json() as Promise<{
    code: string;
    status: string;
  }>;

test('refunding a virtual order in full voids its code, at the code vendor too', async () => {
  const { id, owner, total } = await unpaidOrder(2500, {}, 'virtual');
  expect((await pay(id, owner, 'tok_ok')).status).toBe(200);
  const delivered = await waitForOrder(id, owner, (o) => o.status === 'DELIVERED');
  expect(delivered.delivery).toEqual({ code: expect.stringMatching(/^[0-9A-F]{16}$/) });
  // The code came from the vendor.
  expect(await vendorCode(id)).toMatchObject({ code: delivered.delivery.code, status: 'active' });
  const refund = await call('POST', `/v1/orders/${id}/refunds`, {
    as: merchant,
    body: { reason: 'not wanted' },
  });
  expect(refund.status).toBe(201);
  const refunded = await waitForOrder(id, owner, (o) => o.status === 'REFUNDED');
  expect(refunded.amounts.refunded).toBe(total);
  expect(refunded.delivery).toEqual({ code: delivered.delivery.code, voidedAt: expect.any(String) });
  const job = await db('production_jobs').where({ order_id: id }).first();
  expect(job.voided_at).not.toBeNull();
  expect(await vendorCode(id)).toMatchObject({ code: delivered.delivery.code, status: 'voided' });
});

test('a code the vendor will not void (redeemed): the refund is recorded all the same, the code kept and support told', async () => {
  const { id, owner, total } = await unpaidOrder(2500, {}, 'virtual');
  expect((await pay(id, owner, 'tok_ok')).status).toBe(200);
  const delivered = await waitForOrder(id, owner, (o) => o.status === 'DELIVERED');
  // From now on the vendor refuses this order's codes, and to void the one it issued.
  await fetch(`${process.env.WAREHOUSE_URL}/v1/sandbox/codes/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refuse: true }),
  });
  const refund = await call('POST', `/v1/orders/${id}/refunds`, {
    as: merchant,
    body: { reason: 'not wanted' },
  });
  expect(refund.status).toBe(201);
  // Recorded, not retried for ever: the money went back, the order says what the code did.
  const refunded = await waitForOrder(id, merchant, (o) => o.status === 'REFUNDED', 20_000);
  expect(refunded.amounts.refunded).toBe(total);
  expect(refunded.delivery).toEqual({ code: delivered.delivery.code });
  expect(refunded.attention).toMatchObject({ code: 'void_refused', detail: 'code_vendor' });
  expect(await providerRefunded(id)).toBe(total);
  expect((await db('production_jobs').where({ order_id: id }).first()).voided_at).toBeNull();
  expect(await vendorCode(id)).toMatchObject({ code: delivered.delivery.code, status: 'active' });
  // Support's flag, not the customer's.
  expect((await call('GET', `/v1/orders/${id}`, { as: owner })).body.order).not.toHaveProperty('attention');
  // The invariant checker accepts a code kept with the flag, and would catch one kept without it.
  const temporal = await testTemporal();
  try {
    const audit = () =>
      checkInvariants(db, temporal.client, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), {
        orderIds: [id],
        skus: [],
        coupons: [],
      });
    expect((await audit()).violations).toEqual([]);
    await db('orders')
      .where({ id })
      .update({ details: db.raw(`details - 'attention'`) });
    expect((await audit()).violations).toEqual([
      { rule: 'refunded codes are voided or flagged', subject: id, detail: 'code still active' },
    ]);
  } finally {
    await temporal.close();
  }
});

test('the sandbox answers like a provider: a key reused with other parameters is refused, refunds never exceed the charge', async () => {
  const url = process.env.PAYMENT_PROVIDER_URL!;
  const post = (path: string, key: string, body: object) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
  const key = `k-${randomUUID()}`;
  const intent = {
    amount: 1000,
    currency: 'USD',
    payment_method: 'tok_ok',
    metadata: { order_id: `o-${key}` },
  };
  const created = await post('/v1/payment_intents', key, intent);
  expect(created.status).toBe(200);
  const pi: any = await created.json();
  expect(pi).toMatchObject({ status: 'succeeded', amount_received: 1000 });
  // The same request again answers the same intent; other parameters under that key are refused.
  expect(await (await post('/v1/payment_intents', key, intent)).json()).toMatchObject({ id: pi.id });
  const reused = await post('/v1/payment_intents', key, { ...intent, amount: 2000 });
  expect(reused.status).toBe(400);
  expect(((await reused.json()) as any).error.type).toBe('idempotency_error');
  expect((await post('/v1/refunds', `${key}-r1`, { payment_intent: pi.id, amount: 600 })).status).toBe(200);
  expect((await post('/v1/refunds', `${key}-r2`, { payment_intent: pi.id, amount: 600 })).status).toBe(400);
  const list: any = await (await fetch(`${url}/v1/payment_intents?order=o-${key}`)).json();
  expect(list.data).toEqual([expect.objectContaining({ id: pi.id, amount_refunded: 600 })]);
});
