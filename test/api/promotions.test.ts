/** Issue 4: promotions, coupons and member tiers through the API, exact to the cent. */
import { randomUUID } from 'node:crypto';
import { call, customer, merchant, putProduct, uniqueSku } from '../support/api';
import { testDb } from '../support/backends';
import type { LineQuantity } from '../../domain/order';

const db = testDb();
afterAll(() => db.destroy());

const code = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`.toUpperCase();

async function putPromotion(c: string, body: Record<string, unknown>) {
  const reply = await call('PUT', `/v1/promotions/${c}`, { as: merchant, body });
  expect(reply.status).toBe(201);
  return reply.body;
}

async function order(as = customer(), items: LineQuantity[], couponCode?: string) {
  return call('POST', '/v1/orders', { as, body: { items, ...(couponCode ? { couponCode } : {}) } });
}

test('50 concurrent orders for a coupon with maxUses 10: exactly 10 discounted orders and 40 clean 422s; a cancel frees a use', async () => {
  const sku = uniqueSku('cpn');
  await putProduct(sku, { price: 2000, stock: 1000 });
  const c = code('TEN');
  await putPromotion(c, { kind: 'fixed', value: 500, maxUses: 10 });

  const replies = await Promise.all(
    Array.from({ length: 50 }, () => order(customer(), [{ sku, quantity: 1 }], c)),
  );
  const ok = replies.filter((r) => r.status === 201);
  const refused = replies.filter((r) => r.status !== 201);
  expect(ok).toHaveLength(10);
  expect(refused).toHaveLength(40);
  for (const r of ok)
    expect(r.body.order.amounts).toMatchObject({ subtotal: 2000, discount: 500, total: 2300 });
  for (const r of refused)
    expect(r.body).toMatchObject({ status: 422, code: 'COUPON_EXHAUSTED', couponCode: c });
  expect((await call('GET', `/v1/promotions/${c}`, { as: merchant })).body).toMatchObject({
    used: 10,
    redeemed: 0,
  });

  const victim = ok[0]!.body.order;
  const cancel = await call('POST', `/v1/orders/${victim.id}/cancel`, {
    as: { role: 'customer', id: victim.customerId },
    body: {},
  });
  expect(cancel.status).toBe(200);
  expect((await call('GET', `/v1/promotions/${c}`, { as: merchant })).body.used).toBe(9);
  const again = await order(customer(), [{ sku, quantity: 1 }], c);
  expect(again.status).toBe(201);
  expect((await order(customer(), [{ sku, quantity: 1 }], c)).body.code).toBe('COUPON_EXHAUSTED');

  // Paying redeems the use.
  const payer = ok[1]!.body.order;
  await call('POST', `/v1/orders/${payer.id}/pay`, {
    as: { role: 'customer', id: payer.customerId },
    body: { paymentToken: 'tok_ok' },
  });
  expect(await db('coupon_uses').where({ order_id: payer.id }).first('state')).toEqual({ state: 'redeemed' });
  expect((await call('GET', `/v1/promotions/${c}`, { as: merchant })).body).toMatchObject({
    used: 10,
    redeemed: 1,
  });
}, 90_000);

describe('hand-checked totals', () => {
  let cheap: string;
  let dear: string;
  let small: string;
  beforeAll(async () => {
    [cheap, dear, small] = [uniqueSku('c'), uniqueSku('d'), uniqueSku('s')];
    await putProduct(cheap, { price: 1999, stock: 100 });
    await putProduct(dear, { price: 6000, stock: 100 });
    await putProduct(small, { price: 1000, stock: 100 });
  });

  test('percent: 15% of 3998 is 599 (rounded down), plus shipping', async () => {
    const c = code('P15');
    await putPromotion(c, { kind: 'percent', value: 15 });
    const { body } = await order(customer(), [{ sku: cheap, quantity: 2 }], c);
    expect(body.order.amounts).toEqual({
      subtotal: 3998,
      discount: 599,
      shipping: 800,
      total: 4199,
      paid: 0,
      refunded: 0,
      authorized: 0,
      released: 0,
    });
    expect(body.order.discounts).toEqual([{ source: 'promotion', code: c, amount: 599 }]);
  });

  test('fixed: 500 off 3998', async () => {
    const c = code('F5');
    await putPromotion(c, { kind: 'fixed', value: 500 });
    const { body } = await order(customer(), [{ sku: cheap, quantity: 2 }], c);
    expect(body.order.amounts).toMatchObject({ subtotal: 3998, discount: 500, shipping: 800, total: 4298 });
  });

  test('threshold: 1000 off from 10000, and shipping becomes free above 9900', async () => {
    const c = code('T10');
    await putPromotion(c, { kind: 'threshold', value: 1000, minSubtotal: 10000 });
    const { body } = await order(customer(), [{ sku: dear, quantity: 2 }], c);
    expect(body.order.amounts).toMatchObject({ subtotal: 12000, discount: 1000, shipping: 0, total: 11000 });
    const below = await order(customer(), [{ sku: dear, quantity: 1 }], c);
    expect(below.body).toMatchObject({ status: 422, code: 'COUPON_INVALID', minSubtotal: 10000 });
  });

  test('member tiers: gold takes 5%, silver 3%, standard nothing', async () => {
    const [gold, silver, plain] = [customer(), customer(), customer()];
    await call('PUT', `/v1/members/${gold.id}`, { as: merchant, body: { tier: 'gold' } });
    await call('PUT', `/v1/members/${silver.id}`, { as: merchant, body: { tier: 'silver' } });
    expect((await order(gold, [{ sku: small, quantity: 10 }])).body.order.amounts).toMatchObject({
      discount: 500,
      shipping: 800,
      total: 10300,
    });
    expect((await order(silver, [{ sku: small, quantity: 20 }])).body.order.amounts).toMatchObject({
      discount: 600,
      shipping: 0,
      total: 19400,
    });
    expect((await order(plain, [{ sku: small, quantity: 1 }])).body.order.amounts).toMatchObject({
      discount: 0,
      total: 1800,
    });
  });

  test('a promotion and a tier together, allocated to the lines so that they sum exactly', async () => {
    const member = customer();
    await call('PUT', `/v1/members/${member.id}`, { as: merchant, body: { tier: 'silver' } });
    const c = code('P10');
    await putPromotion(c, { kind: 'percent', value: 10 });
    const small2 = uniqueSku('s2');
    await putProduct(small2, { price: 2000, stock: 10 });
    const { body } = await order(
      member,
      [
        { sku: small, quantity: 1 },
        { sku: small2, quantity: 1 },
      ],
      c,
    );
    // 3000 − 300 (10%) = 2700; silver 3% of 2700 = 81; 381 split 1:2 → 127 and 254.
    expect(body.order.amounts).toMatchObject({ subtotal: 3000, discount: 381, shipping: 800, total: 3419 });
    expect(body.order.items.map((i: any) => [i.discount, i.total])).toEqual([
      [127, 873],
      [254, 1746],
    ]);
    expect(body.order.discounts).toEqual([
      { source: 'promotion', code: c, amount: 300 },
      { source: 'member', code: 'silver', amount: 81 },
    ]);
  });
});

test('unknown, expired, not yet valid and per-customer-exhausted coupons are refused at once, leaving nothing', async () => {
  const sku = uniqueSku('bad');
  await putProduct(sku, { price: 1000, stock: 10 });
  const buyer = customer();
  expect((await order(buyer, [{ sku, quantity: 1 }], code('NOPE'))).body).toMatchObject({
    status: 422,
    code: 'COUPON_INVALID',
  });
  const expired = code('OLD');
  await putPromotion(expired, {
    kind: 'fixed',
    value: 100,
    startsAt: '2020-01-01T00:00:00Z',
    endsAt: '2020-02-01T00:00:00Z',
  });
  expect((await order(buyer, [{ sku, quantity: 1 }], expired)).body).toMatchObject({
    status: 422,
    code: 'COUPON_EXPIRED',
  });
  const future = code('NEW');
  await putPromotion(future, { kind: 'fixed', value: 100, startsAt: '2099-01-01T00:00:00Z' });
  expect((await order(buyer, [{ sku, quantity: 1 }], future)).body).toMatchObject({
    status: 422,
    code: 'COUPON_INVALID',
  });
  const once = code('ONCE');
  await putPromotion(once, { kind: 'fixed', value: 100, perCustomerLimit: 1 });
  expect((await order(buyer, [{ sku, quantity: 1 }], once)).status).toBe(201);
  expect((await order(buyer, [{ sku, quantity: 1 }], once)).body).toMatchObject({
    status: 422,
    code: 'COUPON_EXHAUSTED',
  });
  expect((await order(customer(), [{ sku, quantity: 1 }], once)).status).toBe(201);
  // Only the two accepted orders hold stock.
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock.reserved).toBe(2);
});

test('a coupon that would take nothing off an order is refused for it, and its use stays the customer’s', async () => {
  const [cheap, dear] = [uniqueSku('cpn19'), uniqueSku('cpn1k')];
  await putProduct(cheap, { price: 19, stock: 10 });
  await putProduct(dear, { price: 1000, stock: 10 });
  const c = code('FIVE');
  await putPromotion(c, { kind: 'percent', value: 5, perCustomerLimit: 1 });
  const buyer = customer();
  // 5% of 19 is nothing.
  const refused = await order(buyer, [{ sku: cheap, quantity: 1 }], c);
  expect(refused.status).toBe(422);
  expect(refused.body).toMatchObject({ code: 'COUPON_INVALID', couponCode: c });
  expect(await db('coupon_uses').where({ code: c })).toHaveLength(0);
  const placed = await order(buyer, [{ sku: dear, quantity: 1 }], c);
  expect(placed.status).toBe(201);
  expect(placed.body.order.amounts).toMatchObject({ subtotal: 1000, discount: 50 });
});

test('a promotion in one currency prices only orders in it; one without prices any', async () => {
  const [usd, jpy] = [uniqueSku('usd'), uniqueSku('jpy')];
  await putProduct(usd, { price: 2000, stock: 10 });
  await putProduct(jpy, { price: 1200, currency: 'JPY', stock: 10 });
  const dollars = code('FIX5');
  await putPromotion(dollars, { kind: 'fixed', value: 500, currency: 'USD' });
  expect((await call('GET', `/v1/promotions/${dollars}`, { as: merchant })).body).toMatchObject({
    currency: 'USD',
  });
  // ¥500 off a ¥1,200 order is not what $5 off means: refused, nothing held.
  const yen = await order(customer(), [{ sku: jpy, quantity: 1 }], dollars);
  expect(yen.body).toMatchObject({ status: 422, code: 'COUPON_INVALID', currency: 'USD' });
  expect((await call('GET', `/v1/products/${jpy}`, { as: merchant })).body.stock.reserved).toBe(0);
  expect(await db('coupon_uses').where({ code: dollars })).toEqual([]);
  const inDollars = await order(customer(), [{ sku: usd, quantity: 1 }], dollars);
  expect(inDollars.status).toBe(201);
  expect(inDollars.body.order.amounts).toMatchObject({ discount: 500 });
  // Without a currency, as before: its amounts in the order's.
  const any = code('ANY');
  await putPromotion(any, { kind: 'fixed', value: 100 });
  const anyYen = await order(customer(), [{ sku: jpy, quantity: 1 }], any);
  expect(anyYen.status).toBe(201);
  expect(anyYen.body.order.amounts).toMatchObject({ discount: 100 });
});

test('promotion input is validated', async () => {
  const bad = await call('PUT', `/v1/promotions/${code('X')}`, {
    as: merchant,
    body: { kind: 'percent', value: 150 },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.errors[0].path).toEqual(['value']);
  expect(
    (
      await call('PUT', `/v1/promotions/${code('X')}`, {
        as: merchant,
        body: { kind: 'threshold', value: 5 },
      })
    ).status,
  ).toBe(400);
  // Nothing off: refused, not stored as a coupon that applies and counts its uses for nothing.
  for (const kind of ['fixed', 'threshold']) {
    const zero = code('Z');
    const none = await call('PUT', `/v1/promotions/${zero}`, {
      as: merchant,
      body: { kind, value: 0, minSubtotal: 1000 },
    });
    expect(none.status).toBe(400);
    expect(none.body.errors[0].path).toEqual(['value']);
    expect((await call('GET', `/v1/promotions/${zero}`, { as: merchant })).status).toBe(404);
  }
  expect(
    (await call('PUT', `/v1/promotions/${code('X')}`, { as: customer(), body: { kind: 'fixed', value: 5 } }))
      .status,
  ).toBe(403);
});
