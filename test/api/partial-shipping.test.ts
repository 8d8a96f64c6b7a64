/** Issue 20, item 4: a merchant ships by hand in parcels; the order is PARTIALLY_SHIPPED until nothing is left. */
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { orderInProduction } from '../support/after-sales';

test('parcels by hand: part, then the rest; more than is left is a 422 that changes nothing', async () => {
  const [x, y] = [uniqueSku('px'), uniqueSku('py')];
  await putProduct(x, { stock: 10, price: 1000 });
  await putProduct(y, { stock: 10, price: 500 });
  const owner = customer();
  const created = await call('POST', '/v1/orders', {
    as: owner,
    body: {
      items: [
        { sku: x, quantity: 3 },
        { sku: y, quantity: 1 },
      ],
    },
  });
  const id = created.body.order.id as string;
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');

  // Tracking numbers of this test's own, so a search finds only its order.
  const [first1Z, lastJD] = [`1Z-${id.slice(-10)}`, `JD-${id.slice(-10)}`];
  const first = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: first1Z, items: [{ sku: x, quantity: 2 }] },
  });
  expect(first.status).toBe(200);
  expect(first.body.order).toMatchObject({
    status: 'PARTIALLY_SHIPPED',
    shipments: [
      {
        location: null,
        items: [{ sku: x, quantity: 2 }],
        carrier: 'UPS',
        trackingNumber: first1Z,
        status: 'shipped',
      },
    ],
  });
  expect((await call('GET', `/v1/orders/${id}`, { as: owner })).body.order.statusLabel).toBe(
    'Partly on its way',
  );
  // Either parcel's tracking number finds the order.
  const tracked = await call('GET', `/v1/orders?q=${first1Z}`, { as: merchant });
  expect(tracked.body.items.map((o: { id: string }) => o.id)).toEqual([id]);

  // Nobody can bring a parcel shipped by hand back: the customer returns it instead of cancelling.
  const cancel = await call('POST', `/v1/orders/${id}/cancel`, { as: owner, body: {} });
  expect(cancel.status).toBe(409);
  expect(cancel.body.detail).toMatch(/shipped by hand/);

  const tooMany = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: '1Z2', items: [{ sku: x, quantity: 2 }] },
  });
  expect(tooMany.status).toBe(422);
  expect(tooMany.body).toMatchObject({ code: 'NOTHING_TO_SHIP', sku: x, left: 1 });
  const unknown = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: '1Z2', items: [{ sku: uniqueSku('none'), quantity: 1 }] },
  });
  expect(unknown.status).toBe(422);
  expect((await call('GET', `/v1/orders/${id}`, { as: merchant })).body.order.shipments).toHaveLength(1);

  // The rest, named or not: the order is shipped, with both parcels.
  const rest = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'DHL', trackingNumber: lastJD },
  });
  expect(rest.status).toBe(200);
  expect(rest.body.order.status).toBe('SHIPPED');
  expect(rest.body.order.shipments.map((s: { items: unknown }) => s.items)).toEqual([
    [{ sku: x, quantity: 2 }],
    [
      { sku: x, quantity: 1 },
      { sku: y, quantity: 1 },
    ],
  ]);
  expect(rest.body.order.shipment).toEqual({ carrier: 'DHL', trackingNumber: lastJD });
  const byFirst = await call('GET', `/v1/orders?q=${first1Z}`, { as: merchant });
  expect(byFirst.body.items.map((o: { id: string }) => o.id)).toEqual([id]);
  expect(rest.body.order.history.map((h: { action: string }) => h.action)).toEqual([
    'place',
    'pay',
    'start_production',
    'ship_part',
    'ship',
  ]);
}, 60_000);

test('staff refund units of a partly shipped order: those not yet shipped go back on hand, those that left do not', async () => {
  const { id, owner, sku: x } = await orderInProduction('prx');
  const shipped = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: `1Z-${id.slice(-8)}`, items: [{ sku: x, quantity: 1 }] },
  });
  expect(shipped.body.order.status).toBe('PARTIALLY_SHIPPED');
  const available = async () =>
    (await call('GET', `/v1/products/${x}`, { as: merchant })).body.stock.available as number;
  const before = await available();
  // Three units refunded: the two still here go back on the shelf; the one that left is the customer's.
  const refunded = await call('POST', `/v1/orders/${id}/refunds`, {
    as: merchant,
    body: { reason: 'out of the rest', items: [{ sku: x, quantity: 3 }] },
  });
  expect(refunded.status).toBe(201);
  const order = await waitForOrder(id, owner, (o) => o.amounts.refunded > 0);
  expect(order).toMatchObject({ status: 'REFUNDED', amounts: { refunded: order.amounts.paid } });
  expect(order.items[0]).toMatchObject({ quantity: 3, refundedQuantity: 3 });
  expect(await available()).toBe(before + 2);
});
