/**
 * Issue 21, item 1: exchanges. Some delivered units sent back for others in one request: the new
 * units priced and held at once, the returned ones credited at the price paid; the customer pays
 * the difference (answered as paying an order is) or is refunded it when the goods are back; the
 * new units ship as another parcel of the order; rejected or cancelled, everything is given back.
 * Against the real stack: the provider's own books and the order center's ledger are checked.
 */
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { call, merchant, putProduct, support, uniqueSku, waitForOrder, type As } from '../support/api';
import { providerPayments, providerRefunded, testDb } from '../support/backends';
import { shippedOrder, stockLevel, type Shipped } from '../support/after-sales';

const db = testDb();
afterAll(() => db.destroy());

/** A product to exchange for, at `price`, with `stock` units. */
async function newProduct(price: number, stock = 10): Promise<string> {
  const sku = uniqueSku('exn');
  await putProduct(sku, { price, stock });
  return sku;
}

const open = (
  o: Shipped,
  returned: number,
  sku: string,
  quantity = 1,
  headers: Record<string, string> = {},
) =>
  call('POST', `/v1/orders/${o.id}/exchanges`, {
    as: o.owner,
    headers,
    body: {
      returnItems: [{ sku: o.sku, quantity: returned }],
      newItems: [{ sku, quantity }],
      reason: 'the wrong size',
    },
  });

const act = (id: string, action: string, body: object = {}, as: As = merchant) =>
  call('POST', `/v1/exchanges/${id}/${action}`, { as, body });

/** The exchange once `done` holds (bounded). */
async function exchangeWhen(id: string, as: As, done: (e: { status: string }) => boolean) {
  for (let i = 0; i < 80; i++) {
    const reply = await call('GET', `/v1/exchanges/${id}`, { as });
    if (reply.status === 200 && done(reply.body.exchange)) return reply.body.exchange;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`exchange ${id} never got there`);
}

const level = (sku: string) => stockLevel(db, sku);

/** The invariant checker's money rules on this order and its exchanges, against the provider's books. */
const audit = (orderId: string) =>
  auditMoney(db, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), [orderId]);

const eventTypes = async (o: Shipped) =>
  (
    (await call('GET', `/v1/orders/${o.id}/events?limit=100`, { as: merchant })).body.items as {
      type: string;
    }[]
  )
    .map((e) => e.type)
    .filter((t) => t.startsWith('exchange.'));

test('a dearer size: the difference is paid (402 declined, then 200), the goods come back, the new unit ships as another parcel', async () => {
  const o = await shippedOrder('exo');
  const dearer = await newProduct(1500);
  const opened = await open(o, 1, dearer);
  expect(opened.status).toBe(201);
  const exchange = opened.body.exchange;
  expect(opened.headers.get('location')).toBe(`/v1/exchanges/${exchange.id}`);
  expect(exchange).toMatchObject({
    orderId: o.id,
    status: 'REQUESTED',
    returnItems: [{ sku: o.sku, quantity: 1, amount: 1000 }],
    newItems: [{ sku: dearer, quantity: 1, unitPrice: 1500, total: 1500 }],
    credit: 1000,
    newTotal: 1500,
    difference: 500,
    refundedAmount: null,
    allowedActions: ['cancel', 'pay'],
  });
  // Held at once; the returned unit is the exchange's, no longer the order's to refund or return.
  expect(await level(dearer)).toEqual({ onHand: 10, reserved: 1 });
  const order = (await call('GET', `/v1/orders/${o.id}`, { as: o.owner })).body.order;
  expect(order.items[0]).toMatchObject({ refundedQuantity: 0, exchangedQuantity: 1, exchangedAmount: 1000 });
  const tooMany = await call('POST', `/v1/orders/${o.id}/returns`, {
    as: o.owner,
    body: { items: [{ sku: o.sku, quantity: 3 }], reason: 'all of them' },
  });
  expect(tooMany.status).toBe(422);

  // Staff approve; nothing moves until the difference is paid.
  expect((await act(exchange.id, 'approve', {}, o.owner)).status).toBe(403);
  expect((await act(exchange.id, 'approve')).body.exchange.status).toBe('APPROVED');
  const unpaid = await act(exchange.id, 'ship', { carrier: 'DHL', trackingNumber: 'N1' });
  expect(unpaid.status).toBe(422);
  expect(unpaid.body.code).toBe('DIFFERENCE_UNPAID');

  // Paid as an order is: declined is a 402 and changes nothing; then paid.
  const declined = await act(exchange.id, 'pay', { paymentToken: 'tok_declined' }, o.owner);
  expect(declined.status).toBe(402);
  const paid = await act(exchange.id, 'pay', { paymentToken: 'tok_ok' }, o.owner);
  expect(paid.status).toBe(200);
  expect(paid.body.exchange.payment).toMatchObject({ status: 'succeeded', amount: 500 });
  expect(paid.body.exchange.allowedActions).toEqual(['cancel']);
  expect((await act(exchange.id, 'pay', { paymentToken: 'tok_ok' }, o.owner)).status).toBe(422);
  // Charged under the exchange's own reference, once; the order's own books are untouched.
  expect((await providerPayments(exchange.id)).filter((p) => p.status === 'succeeded')).toHaveLength(1);

  const before = await level(o.sku);
  // A receipt accounts for every unit the exchange took back, sellable or damaged.
  const short = await act(exchange.id, 'receive', { items: [{ sku: o.sku, sellable: 0, damaged: 0 }] });
  expect(short.status).toBe(422);
  expect(short.body.code).toBe('RECEIPT_MISMATCH');
  expect((await act(exchange.id, 'receive')).body.exchange.status).toBe('RECEIVED');
  expect((await level(o.sku)).onHand).toBe(before.onHand + 1);
  const done = await act(exchange.id, 'ship', { carrier: 'DHL', trackingNumber: 'N1' });
  expect(done.status).toBe(200);
  expect(done.body.exchange).toMatchObject({
    status: 'COMPLETED',
    shipment: { carrier: 'DHL', trackingNumber: 'N1' },
  });
  expect(await level(dearer)).toEqual({ onHand: 9, reserved: 0 });

  const after = await waitForOrder(o.id, o.owner, (x) => (x.shipments ?? []).length === 2);
  expect(after.shipments[1]).toMatchObject({
    id: `${exchange.id}:parcel`,
    exchangeId: exchange.id,
    items: [{ sku: dearer, quantity: 1 }],
    carrier: 'DHL',
  });
  expect(after).toMatchObject({ status: 'SHIPPED', amounts: { paid: 3800, refunded: 0 } });
  expect(await audit(o.id)).toEqual([]);
  expect(await eventTypes(o)).toEqual([
    'exchange.requested',
    'exchange.approved',
    'exchange.paid',
    'exchange.received',
    'exchange.shipped',
    'exchange.completed',
  ]);
});

test('a cheaper product: nothing to pay; shipped first, then the goods come back (one damaged) and the difference is refunded', async () => {
  const o = await shippedOrder('exo');
  const cheaper = await newProduct(400);
  const exchange = (await open(o, 2, cheaper)).body.exchange;
  expect(exchange).toMatchObject({
    credit: 2000,
    newTotal: 400,
    difference: -1600,
    allowedActions: ['cancel'],
  });
  expect((await act(exchange.id, 'pay', { paymentToken: 'tok_ok' }, o.owner)).body.code).toBe(
    'NOTHING_TO_PAY',
  );
  await act(exchange.id, 'approve');
  expect(
    (await act(exchange.id, 'ship', { carrier: 'DHL', trackingNumber: 'N2' })).body.exchange.status,
  ).toBe('SHIPPED');
  const before = await level(o.sku);
  const received = await act(exchange.id, 'receive', { items: [{ sku: o.sku, sellable: 1, damaged: 1 }] });
  expect(received.status).toBe(200);
  expect(received.body.exchange).toMatchObject({ status: 'COMPLETED', refundedAmount: 1600 });
  // The sellable unit is back on sale; the damaged one is written off.
  expect((await level(o.sku)).onHand).toBe(before.onHand + 1);

  const order = await waitForOrder(o.id, o.owner, (x) => x.amounts.refunded === 1600);
  expect(order.status).toBe('SHIPPED');
  const refunds = await call('GET', `/v1/refunds?orderId=${o.id}&source=exchange`, { as: merchant });
  expect(refunds.body.items).toEqual([
    expect.objectContaining({ id: exchange.id, source: 'exchange', amount: 1600 }),
  ]);
  expect(await providerRefunded(o.id)).toBe(1600);
  // The last unit still refunds exactly what is left of its line.
  const refund = await call('POST', `/v1/orders/${o.id}/refunds`, {
    as: support,
    body: { items: [{ sku: o.sku, quantity: 1 }], reason: 'goodwill' },
  });
  expect(refund.status).toBe(201);
  expect(refund.body.refund.amount).toBe(1000);
  await waitForOrder(o.id, o.owner, (x) => x.amounts.refunded === 2600);
  expect(await audit(o.id)).toEqual([]);
});

test('refused before anything is held: out of stock, unknown product, more units than the order can give', async () => {
  const o = await shippedOrder('exo');
  const scarce = await newProduct(1000, 0);
  const out = await open(o, 1, scarce);
  expect(out.status).toBe(422);
  expect(out.body.code).toBe('OUT_OF_STOCK');
  expect((await open(o, 1, 'no-such-sku')).body.code).toBe('UNKNOWN_PRODUCT');
  expect((await open(o, 4, await newProduct(1000))).status).toBe(422);
  expect(await db('exchanges').where({ order_id: o.id }).count('* as n').first()).toEqual({ n: 0 });
  const order = (await call('GET', `/v1/orders/${o.id}`, { as: o.owner })).body.order;
  expect(order.items[0].exchangedQuantity).toBeUndefined();
  expect(order.history.map((h: { action: string }) => h.action)).not.toContain('open_exchange');
});

test('cancelled after paying: the held unit goes back, the difference is refunded, the units are the order’s again; one Idempotency-Key is one exchange', async () => {
  const o = await shippedOrder('exo');
  const dearer = await newProduct(1300);
  const key = { 'idempotency-key': `exc-${o.id}` };
  const first = await open(o, 1, dearer, 1, key);
  const again = await open(o, 1, dearer, 1, key);
  expect(again.status).toBe(201);
  expect(again.body.exchange.id).toBe(first.body.exchange.id);
  const id = first.body.exchange.id as string;
  expect(await level(dearer)).toEqual({ onHand: 10, reserved: 1 });

  expect((await act(id, 'pay', { paymentToken: 'tok_ok' }, o.owner)).status).toBe(200);
  const cancelled = await act(id, 'cancel', { reason: 'changed my mind' }, o.owner);
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.exchange).toMatchObject({
    status: 'CANCELLED',
    refundedAmount: 300,
    payment: { status: 'refunded', amount: 300 },
  });
  expect(await level(dearer)).toEqual({ onHand: 10, reserved: 0 });
  expect(await providerRefunded(id)).toBe(300);
  // The order takes its unit back (its exchange record reverted), and may return all three again.
  const order = await waitForOrder(o.id, o.owner, (x) =>
    x.history.some((h: { action: string }) => h.action === 'exchange_revert'),
  );
  expect(order.items[0].exchangedQuantity).toBeUndefined();
  const ret = await call('POST', `/v1/orders/${o.id}/returns`, {
    as: o.owner,
    body: { items: [{ sku: o.sku, quantity: 3 }], reason: 'all of them after all' },
  });
  expect(ret.status).toBe(201);
  expect(await audit(o.id)).toEqual([]);
  expect((await act(id, 'approve')).status).toBe(409);
});

test('a bank transfer for the difference: 202 while processing, paid when the provider says so', async () => {
  const o = await shippedOrder('exo');
  const id = (await open(o, 1, await newProduct(1800))).body.exchange.id as string;
  const accepted = await act(id, 'pay', { paymentToken: 'tok_async_ok' }, o.owner);
  expect(accepted.status).toBe(202);
  expect(accepted.body.payment).toMatchObject({ status: 'processing', amount: 800 });
  expect((await act(id, 'pay', { paymentToken: 'tok_ok' }, o.owner)).status).toBe(409);
  const paid = await exchangeWhen(
    id,
    o.owner,
    (e) => (e as { payment?: { status: string } }).payment?.status === 'succeeded',
  );
  expect(paid.history.map((h: { action: string }) => h.action)).toEqual(['request', 'pay', 'settle_payment']);
  expect(await audit(o.id)).toEqual([]);
});

test('two payments of one difference at once: one charge, the other told nothing is owed', async () => {
  const o = await shippedOrder('exo');
  const id = (await open(o, 1, await newProduct(1700))).body.exchange.id as string;
  const replies = await Promise.all([1, 2].map(() => act(id, 'pay', { paymentToken: 'tok_ok' }, o.owner)));
  expect(replies.map((r) => r.status).sort()).toEqual([200, 422]);
  expect((await providerPayments(id)).filter((p) => p.status === 'succeeded')).toHaveLength(1);
  expect(await audit(o.id)).toEqual([]);
});
