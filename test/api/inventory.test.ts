/** Issue 5: neither deduction strategy can oversell, whatever the concurrency or retries. */
import { randomUUID } from 'node:crypto';
import { createActivities } from '../../activities';
import { auditOrderBooks } from '../../audit/invariants';
import { auditStock } from '../../services/inventory/audit';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import {
  call,
  callUntilAnswered,
  customer,
  merchant,
  putProduct,
  uniqueSku,
  waitForOrder,
} from '../support/api';
import { expectBooksBalance, providerPayments, testDb, testTemporal } from '../support/backends';
import { eventSummaries } from '../support/history';

const db = testDb();
afterAll(() => db.destroy());

const policy = { paymentTimeoutMs: 1_800_000, autoConfirmAfterMs: 1, afterSalesWindowMs: 1 };

async function booksOf(sku: string) {
  const [audit] = await expectBooksBalance(db, [sku]);
  expect(audit).toMatchObject({ sku });
  return audit!;
}

test('on_order: 200 concurrent orders for 20 units give 20 payable orders and 180 clean refusals', async () => {
  const sku = uniqueSku('hot');
  await putProduct(sku, { stock: 20, inventoryStrategy: 'on_order' });
  const buyers = Array.from({ length: 200 }, () => customer());
  const replies = await Promise.all(
    buyers.map((as) =>
      callUntilAnswered('POST', '/v1/orders', { as, body: { items: [{ sku, quantity: 1 }] } }),
    ),
  );

  const created = replies.filter((r) => r.status === 201);
  const refused = replies.filter((r) => r.status !== 201);
  expect(created).toHaveLength(20);
  expect(refused).toHaveLength(180);
  for (const r of refused)
    if (r.tries === 1) expect(r.body).toMatchObject({ status: 422, code: 'OUT_OF_STOCK', sku });
    else expect([422, 409]).toContain(r.status);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 20,
    reserved: 20,
    available: 0,
  });

  // Every order that was created can be paid.
  const paid = await Promise.all(
    created.map((r) =>
      call('POST', `/v1/orders/${r.body.order.id}/pay`, {
        as: { role: 'customer', id: r.body.order.customerId },
        body: { paymentToken: 'tok_ok' },
      }),
    ),
  );
  expect(paid.map((r) => r.status)).toEqual(Array(20).fill(200));
  const audit = await booksOf(sku);
  expect(audit).toMatchObject({ onHand: 0, reserved: 0, sold: 20 });
}, 120_000);

test('on_payment: 200 concurrent orders for 20 units: 20 are paid, 180 are refused at payment, uncharged and cancelled', async () => {
  const sku = uniqueSku('hotpay');
  await putProduct(sku, { stock: 20, inventoryStrategy: 'on_payment' });
  const buyers = Array.from({ length: 200 }, () => customer());
  // Creation only checks availability, so all 200 can be placed...
  const orders = await Promise.all(
    buyers.map((as) =>
      callUntilAnswered('POST', '/v1/orders', { as, body: { items: [{ sku, quantity: 1 }] } }),
    ),
  );
  expect(orders.map((r) => r.status)).toEqual(Array(200).fill(201));
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 20,
    reserved: 0,
    available: 20,
  });

  // ...and the stock is taken at payment, before any money moves. 200 pays at once, beside another
  // test's stack, may outlast an answer's wait (a 503): asked again as a careful client would.
  const payments = await Promise.all(
    orders.map((r, i) =>
      callUntilAnswered('POST', `/v1/orders/${r.body.order.id}/pay`, {
        as: buyers[i],
        body: { paymentToken: 'tok_ok' },
      }),
    ),
  );
  const paid = payments.filter((r) => r.status === 200);
  const refused = payments.filter((r) => r.status !== 200);
  expect(paid).toHaveLength(20);
  expect(refused).toHaveLength(180);
  // Refused for its stock; or, asked again after a 503, a 409 (the refusal had ended the order's
  // workflow by then, or the first try still held the key): the orders' own states below say what happened.
  for (const r of refused)
    if (r.tries === 1) expect(r.body).toMatchObject({ status: 422, code: 'OUT_OF_STOCK' });
    else expect([422, 409]).toContain(r.status);

  const ids = orders.map((r) => r.body.order.id);
  const charged = (await providerPayments(ids))
    .filter((p) => p.status === 'succeeded')
    .map((p) => p.order_id);
  expect(new Set(charged).size).toBe(20);
  expect(charged).toHaveLength(20);
  const statuses = await db('orders').whereIn('id', ids).select('id', 'status');
  expect(statuses.filter((o) => o.status === 'CANCELLED')).toHaveLength(180);
  // Nobody whose order was cancelled was charged.
  const cancelled = new Set(statuses.filter((o) => o.status === 'CANCELLED').map((o) => o.id));
  expect(charged.filter((id) => cancelled.has(id))).toEqual([]);
  const audit = await booksOf(sku);
  expect(audit).toMatchObject({ onHand: 0, reserved: 0, sold: 20 });
}, 180_000);

test('payment-time stock gone: the customer is not charged and the order is cancelled with a reason', async () => {
  const sku = uniqueSku('last');
  await putProduct(sku, { stock: 1, inventoryStrategy: 'on_payment', price: 9000 });
  const [first, second] = [customer(), customer()];
  const a = await call('POST', '/v1/orders', { as: first, body: { items: [{ sku, quantity: 1 }] } });
  const b = await call('POST', '/v1/orders', { as: second, body: { items: [{ sku, quantity: 1 }] } });
  expect(
    (await call('POST', `/v1/orders/${a.body.order.id}/pay`, { as: first, body: { paymentToken: 'tok_ok' } }))
      .status,
  ).toBe(200);

  const late = await call('POST', `/v1/orders/${b.body.order.id}/pay`, {
    as: second,
    body: { paymentToken: 'tok_ok' },
  });
  expect(late.status).toBe(422);
  expect(late.body).toMatchObject({ code: 'OUT_OF_STOCK', sku });
  const order = await waitForOrder(b.body.order.id, second, (o) => o.status === 'CANCELLED');
  expect(order.history.at(-1)).toMatchObject({
    from: 'PENDING_PAYMENT',
    action: 'stock_out',
    to: 'CANCELLED',
    actor: 'system',
    reason: 'out_of_stock',
  });
  expect(order.amounts.paid).toBe(0);
  expect(await providerPayments(b.body.order.id)).toHaveLength(0);
  await booksOf(sku);
  // The refusal's lookup of a lost pay's charge ran in the worker: no activity went through the
  // server's queue before the customer's 422 (a sale's last units meet a burst of such refusals).
  const temporal = await testTemporal();
  try {
    const events = await eventSummaries(temporal.client.workflow.getHandle(b.body.order.id));
    expect(events.filter((e) => e.type === 'activity')).toEqual([]);
    expect(events.filter((e) => e.type === 'local activity').length).toBeGreaterThanOrEqual(3);
  } finally {
    await temporal.close();
  }
});

test('a declined payment gives payment-time stock back for the next attempt', async () => {
  const sku = uniqueSku('decl');
  await putProduct(sku, { stock: 1, inventoryStrategy: 'on_payment' });
  const buyer = customer();
  const { body } = await call('POST', '/v1/orders', { as: buyer, body: { items: [{ sku, quantity: 1 }] } });
  expect(
    (
      await call('POST', `/v1/orders/${body.order.id}/pay`, {
        as: buyer,
        body: { paymentToken: 'tok_declined' },
      })
    ).status,
  ).toBe(402);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 1,
    reserved: 0,
    available: 1,
  });
  expect(
    (await call('POST', `/v1/orders/${body.order.id}/pay`, { as: buyer, body: { paymentToken: 'tok_ok' } }))
      .status,
  ).toBe(200);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 0,
    reserved: 0,
    available: 0,
  });
  await booksOf(sku);
});

describe('activities run twice, as a retry would, move stock once', () => {
  const activities = createActivities({
    db,
    payments: new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!),
    defaultInventoryStrategy: 'on_order',
  });

  test('placing (reserve) and releasing', async () => {
    const sku = uniqueSku('retry');
    await putProduct(sku, { stock: 10 });
    const input = {
      orderId: `ord_retry_${randomUUID().slice(0, 8)}`,
      type: 'standard' as const,
      customerId: 'c-retry',
      items: [{ sku, quantity: 3 }],
      policy,
      now: new Date().toISOString(),
    };
    const first = await activities.placeOrder(input);
    const second = await activities.placeOrder(input);
    expect(second.amounts).toEqual(first.amounts);
    expect((await auditStock(db, [sku]))[0]).toMatchObject({ reserved: 3, balanced: true });

    await activities.releaseHolds({ orderId: input.orderId, tag: 'cancel' });
    await activities.releaseHolds({ orderId: input.orderId, tag: 'cancel' });
    expect((await auditStock(db, [sku]))[0]).toMatchObject({ onHand: 10, reserved: 0, balanced: true });
    expect(await db('stock_movements').where({ order_id: input.orderId }).pluck('kind')).toEqual([
      'reserve',
      'release',
    ]);
  });

  test('committing and restocking', async () => {
    const sku = uniqueSku('retry2');
    await putProduct(sku, { stock: 10 });
    const orderId = `ord_retry_${randomUUID().slice(0, 8)}`;
    await activities.placeOrder({
      orderId,
      type: 'standard',
      customerId: 'c',
      items: [{ sku, quantity: 4 }],
      policy,
      now: new Date().toISOString(),
    });
    await activities.commitStock({ orderId });
    await activities.commitStock({ orderId });
    expect((await auditStock(db, [sku]))[0]).toMatchObject({
      onHand: 6,
      reserved: 0,
      sold: 4,
      balanced: true,
    });
    await activities.restockSold({ orderId, tag: 'cancel' });
    await activities.restockSold({ orderId, tag: 'cancel' });
    // A second restock under another tag finds nothing left to put back: restocked ≤ sold.
    await activities.restockSold({ orderId, tag: 'again' });
    expect((await auditStock(db, [sku]))[0]).toMatchObject({
      onHand: 10,
      sold: 4,
      restocked: 4,
      balanced: true,
    });
  });

  test("each order's own books: what the levels' balance cannot see", async () => {
    const sku = uniqueSku('books');
    await putProduct(sku, { stock: 10 });
    const place = async () => {
      const orderId = `ord_books_${randomUUID().slice(0, 8)}`;
      await activities.placeOrder({
        orderId,
        type: 'standard',
        customerId: 'c',
        items: [{ sku, quantity: 2 }],
        policy,
        now: new Date().toISOString(),
      });
      return orderId;
    };
    const [a, b, c] = [await place(), await place(), await place()];
    await activities.commitStock({ orderId: a });
    await activities.commitStock({ orderId: b });
    await activities.restockSold({ orderId: a, tag: 'cancel' });
    await expectBooksBalance(db, [sku]);
    const rules = async () =>
      (await auditOrderBooks(db, { skus: [sku] })).map((v) => [v.rule, v.subject.split(':')[0]]);

    // Each breach below keeps every level balanced: only the per-order books see it.
    // a's sale written as b's: b sold 4 of the 2 it reserved, a put back 2 of the none it sold.
    await db('stock_movements').where({ order_id: a, kind: 'commit' }).update({ order_id: b });
    // c closed without giving its units back.
    await db('orders').where({ id: c }).update({ status: 'CANCELLED' });

    expect((await auditStock(db, [sku]))[0]).toMatchObject({ balanced: true });
    expect(await rules()).toEqual(
      expect.arrayContaining([
        ['an order releases or sells only what it reserved, per location', b],
        ['an order restocks or loses only what it sold, per location', a],
        ['closed orders hold no stock', c],
      ]),
    );
    expect(await rules()).toHaveLength(3);
  });
});
