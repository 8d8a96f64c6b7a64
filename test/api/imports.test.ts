/**
 * Issue 22, item 4: orders from other order systems. `POST /v1/orders/import` brings an order
 * placed and paid elsewhere into the order center as type `external`, in the state its source left
 * it: once per (channel, externalId), its units taken from the stock ledger (never oversold), its
 * payment the source's. From there it lives like a native order (production, shipping, returns,
 * lists, events), and its refunds are owed by the source channel, never sent to the provider.
 */
import { randomUUID } from 'node:crypto';
import { auditMoney } from '../../audit/money';
import { importedOrderId } from '../../api/routes/orders';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import {
  call,
  customer,
  merchant,
  putProduct,
  support,
  uniqueSku,
  waitForOrder,
  type As,
} from '../support/api';
import {
  expectBooksBalance,
  listedWorkflows,
  providerPayments,
  providerRefunds,
  testDb,
  testTemporal,
} from '../support/backends';

const db = testDb();
const partner = `mall-${randomUUID().slice(0, 6)}`;
const app: As = { role: 'channel', id: 'mall-app', channel: partner };
let sku: string;
let other: string;

beforeAll(async () => {
  [sku, other] = [uniqueSku('imp'), uniqueSku('imp')];
  await putProduct(sku, { stock: 100, price: 1500 });
  await putProduct(other, { stock: 100, price: 900 });
  const put = await call('PUT', `/v1/channels/${partner}`, { as: merchant, body: { name: 'Bank mall' } });
  expect(put.status).toBe(201);
});
afterAll(() => db.destroy());

/** A day ago: the same import sent again is the same request. */
const placedAt = new Date(Date.now() - 86_400_000).toISOString();

/** Two lines from the source, a 500 discount and 800 shipping: 3×1200 + 1×2000 = 5600, total 5900. */
const body = (externalId: string, extra: object = {}) => ({
  channel: partner,
  externalId,
  customerId: 'buyer-1',
  items: [
    { sku, quantity: 3, unitPrice: 1200 },
    { sku: other, quantity: 1, unitPrice: 2000 },
  ],
  amounts: { subtotal: 5600, discount: 500, shipping: 800, total: 5900 },
  placedAt,
  shippingAddress: { name: 'B', line1: '1 Main St', city: 'Oslo', postalCode: '0150', country: 'NO' },
  paymentReference: 'pay-778',
  ...extra,
});
const importAs = (as: As, payload: object) => call('POST', '/v1/orders/import', { as, body: payload });
const stockOf = async (s: string) =>
  (await call('GET', `/v1/products/${s}`, { as: merchant })).body.stock as {
    onHand: number;
    reserved: number;
  };
const audit = async (ids: string[]) =>
  auditMoney(db, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), ids);

test('an imported paid order joins at PAID, takes its units from the ledger, and goes on to production like any other', async () => {
  const externalId = `E-${randomUUID().slice(0, 8)}`;
  const before = await stockOf(sku);
  const payload = body(externalId);
  const created = await importAs(app, payload);
  expect(created.status).toBe(201);
  const order = created.body.order;
  expect(order).toMatchObject({
    id: importedOrderId(partner, externalId),
    type: 'external',
    channel: partner,
    customerId: 'buyer-1',
    currency: 'USD',
    imported: { externalId },
    amounts: { subtotal: 5600, discount: 500, shipping: 800, total: 5900, paid: 5900, refunded: 0 },
    paymentStatus: 'paid',
    payments: [
      {
        status: 'succeeded',
        method: 'external',
        amount: 5900,
        external: { channel: partner, reference: 'pay-778' },
      },
    ],
  });
  // Placed when the source placed it.
  expect(Date.parse(order.createdAt)).toBe(Date.parse(payload.placedAt));
  expect(order.history[0]).toMatchObject({ from: null, action: 'import', to: 'PAID' });
  // The discount is spread over the lines by their subtotals, to the cent: 3600 and 2000 share 500.
  expect(order.items.map((i: any) => [i.sku, i.discount, i.total])).toEqual([
    [sku, 321, 3279],
    [other, 179, 1821],
  ]);
  const lineTotals = order.items.reduce((a: number, i: any) => a + i.total, 0);
  expect(lineTotals + 800).toBe(5900);
  // Sold at once: off the shelf, nothing held in reservation.
  expect(await stockOf(sku)).toMatchObject({ onHand: before.onHand - 3, reserved: before.reserved });

  const running = await waitForOrder(order.id, merchant, (o) => o.status === 'IN_PRODUCTION');
  expect(running.allowedActions).toEqual(expect.arrayContaining(['ship', 'cancel', 'refund']));
  // In the Web UI like a native order: its type and channel as search attributes.
  const temporal = await testTemporal();
  try {
    const found = await listedWorkflows(
      temporal.client,
      `OrderType = 'external' AND OrderChannel = '${partner}'`,
      (ids) => ids.includes(order.id),
    );
    expect(found).toContain(order.id);
  } finally {
    await temporal.close();
  }
  // Listed and filtered like one, and its channel's customer sees it.
  const listed = await call('GET', `/v1/orders?type=external&channel=${partner}&limit=100`, { as: merchant });
  expect(listed.body.items.map((o: any) => o.id)).toContain(order.id);
  const buyer: As = { role: 'customer', id: 'buyer-1', channel: partner };
  expect((await call('GET', `/v1/orders/${order.id}`, { as: buyer })).status).toBe(200);
  expect(
    (await call('GET', `/v1/orders/${order.id}`, { as: { role: 'customer', id: 'buyer-1' } })).status,
  ).toBe(404);

  // Its events: created and imported, then every transition.
  const events = await call('GET', `/v1/orders/${order.id}/events?limit=100`, { as: merchant });
  expect(events.body.items.map((e: any) => e.type).slice(0, 2)).toEqual(['order.created', 'order.imported']);

  // Shipped, then a line refunded by staff: owed by the channel, nothing sent to the provider.
  expect(
    (
      await call('POST', `/v1/orders/${order.id}/ship`, {
        as: merchant,
        body: { carrier: 'UPS', trackingNumber: '1Z9' },
      })
    ).status,
  ).toBe(200);
  const refund = await call('POST', `/v1/orders/${order.id}/refunds`, {
    as: merchant,
    body: { items: [{ sku: other, quantity: 1 }], reason: 'damaged' },
  });
  expect(refund.status).toBe(201);
  expect(refund.body.refund).toMatchObject({ amount: 1821, owedBy: partner });
  const after = (await call('GET', `/v1/orders/${order.id}`, { as: merchant })).body.order;
  expect(after.amounts).toMatchObject({ paid: 5900, refunded: 1821 });
  expect(await providerPayments(order.id)).toEqual([]);
  expect(await providerRefunds(order.id)).toEqual([]);
  const types = (
    await call('GET', `/v1/orders/${order.id}/events?limit=100`, { as: merchant })
  ).body.items.map((e: any) => e.type);
  expect(types).toContain('refund.owed');
  expect(types).not.toContain('refund.succeeded');
  expect(await audit([order.id])).toEqual([]);
  await expectBooksBalance(db, [sku, other]);
});

test('the same import again is the same order (200); other contents under its id are a 409; nothing moves twice', async () => {
  const externalId = `E-${randomUUID().slice(0, 8)}`;
  const first = await importAs(merchant, body(externalId));
  expect(first.status).toBe(201);
  const stock = await stockOf(sku);
  // Concurrent and repeated: one order, answered with it every time.
  const again = await Promise.all([1, 2, 3].map(() => importAs(merchant, body(externalId))));
  expect(again.map((r) => [r.status, r.body.order.id])).toEqual(
    [1, 2, 3].map(() => [200, first.body.order.id]),
  );
  // A channel importing it as its own is the same order too.
  expect((await importAs(app, body(externalId))).status).toBe(200);
  const changed = await importAs(merchant, body(externalId, { customerId: 'someone-else' }));
  expect(changed.status).toBe(409);
  expect(changed.body).toMatchObject({ code: 'IMPORT_CONFLICT', orderId: first.body.order.id });
  expect(await stockOf(sku)).toEqual(stock);
  expect(await db('orders').where({ channel: partner, external_id: externalId }).count()).toEqual([
    { count: 1 },
  ]);
});

test('who may import: a channel its own orders, a merchant any registered channel’s; nobody else', async () => {
  const id = () => `E-${randomUUID().slice(0, 8)}`;
  const stranger: As = { role: 'channel', id: 'x', channel: `other-${randomUUID().slice(0, 6)}` };
  expect((await importAs(stranger, body(id()))).status).toBe(403); // another channel's
  expect((await importAs(customer(), body(id()))).status).toBe(403);
  expect((await importAs(support, body(id()))).status).toBe(403);
  expect((await importAs(merchant, body(id(), { channel: `nope-${randomUUID().slice(0, 6)}` }))).status).toBe(
    403,
  );
  // A channel allowed other order types only may not bring orders in.
  const narrow = `narrow-${randomUUID().slice(0, 6)}`;
  await call('PUT', `/v1/channels/${narrow}`, {
    as: merchant,
    body: { name: 'N', orderTypes: ['standard'] },
  });
  expect((await importAs(merchant, body(id(), { channel: narrow }))).status).toBe(403);
});

test('refused imports change nothing: out of stock, figures that do not add up, unknown products, bad fields', async () => {
  const stock = await stockOf(sku);
  const id = () => `E-${randomUUID().slice(0, 8)}`;
  const refused = async (payload: object, status: number, code?: string) => {
    const reply = await importAs(merchant, payload);
    expect({ payload, status: reply.status, code: reply.body.code }).toEqual({
      payload,
      status,
      code: code ?? reply.body.code,
    });
    const externalId = (payload as { externalId: string }).externalId;
    if (!externalId.includes('\u0000'))
      expect(
        await db('orders')
          .where({ channel: partner, external_id: (payload as any).externalId })
          .first(),
      ).toBeUndefined();
  };
  await refused(
    body(id(), {
      items: [{ sku, quantity: 1000, unitPrice: 1 }],
      amounts: { total: 1000 },
    }),
    422,
    'OUT_OF_STOCK',
  );
  await refused(
    body(id(), { amounts: { subtotal: 5600, discount: 500, shipping: 800, total: 5901 } }),
    422,
    'AMOUNTS_MISMATCH',
  );
  await refused(
    body(id(), { amounts: { subtotal: 5000, discount: 0, shipping: 0, total: 5000 } }),
    422,
    'AMOUNTS_MISMATCH',
  );
  await refused(body(id(), { amounts: { discount: 9000, total: 0 } }), 422, 'AMOUNTS_MISMATCH');
  await refused(body(id(), { currency: 'EUR' }), 422, 'CURRENCY_MISMATCH');
  await refused(
    body(id(), { items: [{ sku: uniqueSku('ghost'), quantity: 1, unitPrice: 1 }], amounts: { total: 1 } }),
    422,
    'UNKNOWN_PRODUCT',
  );
  // Hostile or malformed: refused at the edge.
  await refused(body(`E\u0000${randomUUID().slice(0, 4)}`), 400);
  await refused(body(id(), { placedAt: new Date(Date.now() + 86_400_000).toISOString() }), 400);
  await refused(body(id(), { status: 'COMPLETED' }), 400);
  await refused(body(id(), { items: [{ sku, quantity: 1, unitPrice: -5 }] }), 400);
  await refused(
    body(id(), {
      items: [
        { sku, quantity: 1, unitPrice: 1 },
        { sku, quantity: 1, unitPrice: 1 },
      ],
    }),
    400,
  );
  await refused(body(id(), { shipment: { carrier: 'U\u0007P', trackingNumber: '1' } }), 400);
  await refused({ ...body(id()), extra: true }, 400);
  expect(await stockOf(sku)).toEqual(stock);
});

test('imported as confirmed: its after-sales window counts from the import, and the order says until when', async () => {
  const imported = await importAs(
    app,
    body(`E-${randomUUID().slice(0, 8)}`, {
      status: 'CONFIRMED',
      shipment: { carrier: 'DHL', trackingNumber: 'JD0002' },
    }),
  );
  expect(imported.status).toBe(201);
  const order = imported.body.order;
  // The test stack's window: 5 s (test/global-setup.ts).
  expect(Date.parse(order.afterSalesUntil)).toBe(Date.parse(order.history[0].at) + 5000);
  const buyer: As = { role: 'customer', id: 'buyer-1', channel: partner };
  const seen = (await call('GET', `/v1/orders/${order.id}`, { as: buyer })).body.order;
  expect(seen.afterSalesUntil).toBe(order.afterSalesUntil);
  expect(seen.allowedActions).toContain('request_return');
});

test('imported as shipped: the customer confirms, returns a unit, and the refund is owed by the channel; a cancel of a paid import is owed in full', async () => {
  const shipped = await importAs(
    app,
    body(`E-${randomUUID().slice(0, 8)}`, {
      status: 'SHIPPED',
      shipment: { carrier: 'DHL', trackingNumber: 'JD0001' },
    }),
  );
  expect(shipped.status).toBe(201);
  const order = shipped.body.order;
  expect(order).toMatchObject({
    status: 'SHIPPED',
    shipment: { carrier: 'DHL', trackingNumber: 'JD0001' },
    shipments: [{ location: null, carrier: 'DHL', status: 'shipped' }],
  });
  const buyer: As = { role: 'customer', id: 'buyer-1', channel: partner };
  // Gone already: a cancel is refused; the customer confirms receipt instead.
  expect((await call('POST', `/v1/orders/${order.id}/cancel`, { as: buyer, body: {} })).status).toBe(409);
  expect((await call('POST', `/v1/orders/${order.id}/confirm`, { as: buyer, body: {} })).status).toBe(200);
  const requested = await call('POST', `/v1/orders/${order.id}/returns`, {
    as: buyer,
    body: { items: [{ sku, quantity: 1 }], reason: 'too small' },
  });
  expect(requested.status).toBe(201);
  const ret = requested.body.return;
  expect((await call('POST', `/v1/returns/${ret.id}/approve`, { as: merchant, body: {} })).status).toBe(200);
  expect((await call('POST', `/v1/returns/${ret.id}/receive`, { as: merchant, body: {} })).status).toBe(200);
  const refunded = await waitForOrder(order.id, merchant, (o) => o.amounts.refunded > 0);
  expect(refunded.amounts).toMatchObject({ paid: 5900, refunded: 1093 }); // one of three units of 3279
  const refunds = await call('GET', `/v1/refunds?orderId=${order.id}`, { as: merchant });
  expect(refunds.body.items).toEqual([
    expect.objectContaining({ source: 'return', amount: 1093, owedBy: partner }),
  ]);

  // Paid elsewhere and cancelled here before it ships: everything is owed back by the channel.
  const paid = (await importAs(app, body(`E-${randomUUID().slice(0, 8)}`))).body.order;
  await waitForOrder(paid.id, merchant, (o) => o.status === 'IN_PRODUCTION');
  const cancelled = await call('POST', `/v1/orders/${paid.id}/cancel`, {
    as: app,
    body: { reason: 'changed' },
  });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: 5900, refunded: 5900 },
  });
  const owed = await call('GET', `/v1/refunds?orderId=${paid.id}`, { as: merchant });
  expect(owed.body.items).toEqual([
    expect.objectContaining({ source: 'cancel', amount: 5900, owedBy: partner }),
  ]);
  expect(await providerRefunds(paid.id)).toEqual([]);
  expect(await audit([order.id, paid.id])).toEqual([]);
  await expectBooksBalance(db, [sku, other]);
});
