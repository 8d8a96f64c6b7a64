/**
 * Issue 20, items 3, 4 and 9: with FULFILMENT=warehouse, production sends one fulfilment request
 * per stock location to the sandbox warehouse (its own process), each a child workflow; the
 * warehouse's signed events ship the order parcel by parcel (PARTIALLY_SHIPPED, then SHIPPED)
 * and deliver it; a refusal, a lost answer and a stalled request behave as they should. A worker
 * and API of the test's own; the shared sandbox warehouse steps every 300 ms.
 */
import { allPages, customer, merchant, support, uniqueSku, waitForOrder, type As } from '../support/api';
import { expectBooksBalance, testDb, testTemporal } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';
import { historyOf, warehouseKit, workflowResult } from '../support/warehouse';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('warehouse', { FULFILMENT: 'warehouse' });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const {
  api,
  warehouse,
  location,
  stocked,
  paidOrder,
  twoLocationOrder,
  cancelledWithParcelOut,
  stockAt,
  sendNewsNow,
} = warehouseKit(() => services.apiUrl);

/** A paid order of `quantity` from one location, which has accepted the fulfilment and stalls after `stallAfter`. */
async function acceptedOrder(prefix: string, stock: number, quantity: number, stallAfter = 'accepted') {
  const loc = await location(prefix, 1, { stallAfter });
  const sku = uniqueSku(prefix);
  await stocked(sku, { [loc]: stock });
  const { id, owner } = await paidOrder([{ sku, quantity }]);
  await waitForOrder(
    id,
    owner,
    (o) => o.fulfilments.some((f: { status: string }) => f.status === 'accepted'),
    20_000,
    services.apiUrl,
  );
  return { loc, sku, id, owner };
}

test('one request per location, each a child workflow; parcels ship the order in part, then in full, then are delivered', async () => {
  const [a, b] = [await location('wa', 1), await location('wb', 2)];
  const [x, y] = [uniqueSku('wx'), uniqueSku('wy')];
  await stocked(x, { [a]: 5 });
  await stocked(y, { [b]: 5 });
  const { id, owner } = await paidOrder([
    { sku: x, quantity: 2 },
    { sku: y, quantity: 1 },
  ]);

  // By hand is refused while a warehouse has the goods.
  const inProduction = await waitForOrder(
    id,
    owner,
    (o) => o.fulfilments.length === 2,
    20_000,
    services.apiUrl,
  );
  expect(inProduction.fulfilments.map((f: { location: string }) => f.location).sort()).toEqual([a, b].sort());
  const byHand = await api('POST', `/v1/orders/${id}/ship`, merchant, {
    carrier: 'UPS',
    trackingNumber: '1Z',
  });
  expect([409]).toContain(byHand.status);

  const delivered = await waitForOrder(
    id,
    owner,
    (o) => o.deliveredAt !== undefined,
    30_000,
    services.apiUrl,
  );
  expect(delivered.status).toBe('SHIPPED');
  expect(delivered.shipments).toHaveLength(2);
  for (const s of delivered.shipments)
    expect(s).toMatchObject({
      status: 'delivered',
      carrier: 'SBX Parcel',
      trackingNumber: expect.stringMatching(/^SBX/),
    });
  expect(delivered.shipments.find((s: { location: string }) => s.location === a).items).toEqual([
    { sku: x, quantity: 2 },
  ]);
  expect(delivered.shipments.find((s: { location: string }) => s.location === b).items).toEqual([
    { sku: y, quantity: 1 },
  ]);
  const actions = delivered.history.map(
    (h: { action: string; from: string; to: string }) => `${h.from}>${h.action}>${h.to}`,
  );
  expect(actions).toContain('IN_PRODUCTION>ship_part>PARTIALLY_SHIPPED');
  expect(actions).toContain('PARTIALLY_SHIPPED>ship>SHIPPED');
  expect(delivered.history.filter((h: { action: string }) => h.action === 'parcel_delivered')).toHaveLength(
    2,
  );

  // The order center has each fulfilment; each ran as a workflow of its own, now finished.
  const rows = await db('fulfilments').where({ order_id: id }).orderBy('location_id');
  expect(rows.map((r) => r.status)).toEqual(['delivered', 'delivered']);
  const temporal = await testTemporal();
  try {
    for (const loc of [a, b]) {
      const d = await temporal.client.workflow.getHandle(`${id}-fulfil-${loc}`).describe();
      expect(d.type).toBe('fulfilmentFlow');
      expect(d.status.name).toBe('COMPLETED');
    }
  } finally {
    await temporal.close();
  }
  // Exactly one request per location at the warehouse, whatever the retries.
  expect((await warehouse(`/v1/fulfilments?order_id=${id}`)).data).toHaveLength(2);
}, 90_000);

test('a lost answer is asked again under the same id: one request, and the order ships', async () => {
  const c = await location('wlost', 1, { loseAnswer: true });
  const sku = uniqueSku('wl');
  await stocked(sku, { [c]: 3 });
  const { id, owner } = await paidOrder([{ sku, quantity: 1 }]);
  const shipped = await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 40_000, services.apiUrl);
  expect(shipped.shipments).toHaveLength(1);
  expect((await warehouse(`/v1/fulfilments?order_id=${id}`)).data).toHaveLength(1);
}, 60_000);

test('news past "shipped" that overtakes it (events out of order) still ships the order, then delivers it', async () => {
  const held = await location('wooo', 1, { holdNews: true, stallAfter: 'in_transit' });
  const sku = uniqueSku('wo');
  await stocked(sku, { [held]: 3 });
  const { id, owner } = await paidOrder([{ sku, quantity: 1 }]);
  for (let i = 0; i < 100; i++) {
    const [f] = (await warehouse(`/v1/fulfilments?order_id=${id}`)).data;
    if (f?.status === 'in_transit') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // "In transit" arrives first; then the held news (accepted ... shipped, in transit) comes late.
  expect(await sendNewsNow(id)).toBe('in_transit');
  const shipped = await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 20_000, services.apiUrl);
  expect(shipped.shipments).toEqual([
    expect.objectContaining({ location: held, items: [{ sku, quantity: 1 }] }),
  ]);
  await warehouse(`/v1/sandbox/locations/${held}`, { method: 'PUT', body: {} });
  const delivered = await waitForOrder(
    id,
    owner,
    (o) => o.deliveredAt !== undefined,
    30_000,
    services.apiUrl,
  );
  expect(delivered.shipments).toEqual([expect.objectContaining({ location: held, status: 'delivered' })]);
  expect(historyOf(delivered).filter((a) => a === 'ship')).toHaveLength(1);
}, 60_000);

test('a refused request asks support to act; the order says which location', async () => {
  const r = await location('wref', 1, { refuse: true });
  const sku = uniqueSku('wr');
  await stocked(sku, { [r]: 3 });
  const { id } = await paidOrder([{ sku, quantity: 1 }]);
  const flagged = await waitForOrder(id, support, (o) => o.attention !== undefined, 20_000, services.apiUrl);
  expect(flagged.attention).toMatchObject({ code: 'fulfilment_refused', detail: r });
  expect(flagged.status).toBe('IN_PRODUCTION');
  expect(flagged.fulfilments).toEqual([expect.objectContaining({ location: r, status: 'refused' })]);
}, 40_000);

test('stalled fulfilments: listed for staff with the units they hold, once their last news is older than asked', async () => {
  const { loc: s, sku, id } = await acceptedOrder('wstall', 3, 2);
  await new Promise((r) => setTimeout(r, 1500));
  // Every page of them: other tests' fulfilments may sit in a warehouse too.
  const stalled = await allPages('/v1/fulfilments?stalledFor=1s', support, 100);
  expect(stalled).toContainEqual(
    expect.objectContaining({ orderId: id, location: s, status: 'accepted', items: [{ sku, quantity: 2 }] }),
  );
  const fresh = await allPages('/v1/fulfilments?stalledFor=1h', support, 100);
  expect(fresh.map((f: { orderId: string }) => f.orderId)).not.toContain(id);
  expect((await api('GET', '/v1/fulfilments?stalledFor=1s', customer())).status).toBe(403);
  expect((await api('GET', '/v1/fulfilments?stalledFor=soon', support)).status).toBe(400);
  expect((await api('GET', '/v1/fulfilments', support)).status).toBe(400);
}, 40_000);

test('the warehouse webhook: a bad signature is a 400 that changes nothing', async () => {
  const reply = await fetch(`${services.apiUrl}/v1/inbound/fulfilment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': 't=1,v1=00' },
    body: JSON.stringify({ id: 'whe_x', type: 'fulfilment.shipped', data: { object: {} } }),
  });
  expect(reply.status).toBe(400);
});

test('cancelled after the hand-off: the warehouse is asked to stop, then the money and the stock come back', async () => {
  const { loc: s, sku, id, owner } = await acceptedOrder('wcancel', 3, 2, 'picked');
  const cancelled = await api('POST', `/v1/orders/${id}/cancel`, owner, { reason: 'too slow' });
  expect(cancelled.status).toBe(200);
  const done = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED', 20_000, services.apiUrl);
  expect(done.fulfilments).toEqual([expect.objectContaining({ location: s, status: 'cancelled' })]);
  expect(done.amounts.refunded).toBe(done.amounts.paid);
  expect((await warehouse(`/v1/fulfilments?order_id=${id}`)).data).toEqual([
    expect.objectContaining({ status: 'cancelled' }),
  ]);
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations).toEqual([
    { location: s, onHand: 3, reserved: 0, available: 3 },
  ]);
}, 40_000);

test('cancelled after a short pick, before the parcel left: what was picked comes back, the units short are written off there', async () => {
  const s = await location('wcshort', 1, { shortBy: 1, stallAfter: 'picked' });
  const sku = uniqueSku('wcs');
  await stocked(sku, { [s]: 5 });
  const { id, owner } = await paidOrder([{ sku, quantity: 3 }]);
  for (let i = 0; i < 100; i++) {
    if ((await warehouse(`/v1/fulfilments?order_id=${id}`)).data[0]?.status === 'picked') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect((await api('POST', `/v1/orders/${id}/cancel`, owner, {})).status).toBe(200);
  const done = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED', 20_000, services.apiUrl);
  expect(done.fulfilments).toEqual([expect.objectContaining({ location: s, status: 'cancelled' })]);
  // 2 of the 3 were on the shelf: they are back; the one the pick did not find is not.
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations).toEqual([
    { location: s, onHand: 4, reserved: 0, available: 4 },
  ]);
  await expectBooksBalance(db, [sku]);
}, 40_000);

test('a parcel the carrier cannot deliver goes back to its sender: stock back there, the customer refunded', async () => {
  const f = await location('wfail', 1, { failDelivery: true });
  const sku = uniqueSku('wf');
  await stocked(sku, { [f]: 3 });
  const { id, owner } = await paidOrder([{ sku, quantity: 2 }]);
  const done = await waitForOrder(id, owner, (o) => o.status === 'REFUNDED', 30_000, services.apiUrl);
  expect(done.history.at(-1)).toMatchObject({
    from: 'SHIPPED',
    action: 'refund_all',
    to: 'REFUNDED',
    actor: 'system',
    reason: 'returned to sender',
  });
  expect(done.shipments).toEqual([expect.objectContaining({ location: f, status: 'delivery_failed' })]);
  expect(done.amounts.refunded).toBe(done.amounts.paid);
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations).toEqual([
    { location: f, onHand: 3, reserved: 0, available: 3 },
  ]);
}, 45_000);

test('a short pick: the missing units are written off there and sent from another location that has them', async () => {
  const [short, spare] = [await location('wshort', 1, { shortBy: 1 }), await location('wspare', 2)];
  const sku = uniqueSku('wsp');
  await stocked(sku, { [short]: 5, [spare]: 5 });
  const { id, owner } = await paidOrder([{ sku, quantity: 3 }]);
  const done = await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 30_000, services.apiUrl);
  expect(done.shipments.map((s: { location: string; items: unknown }) => [s.location, s.items])).toEqual([
    [short, [{ sku, quantity: 2 }]],
    [spare, [{ sku, quantity: 1 }]],
  ]);
  expect(done.history).toContainEqual(
    expect.objectContaining({
      action: 'short_pick',
      reason: `${sku} × 1 short at ${short}, sent from ${spare}`,
    }),
  );
  expect(done.amounts.refunded).toBe(0);
  expect(done.fulfilments.map((f: { location: string }) => f.location)).toEqual([short, spare]);
  // The books: 2 sold and 1 written off at the short location, 1 sold at the spare one.
  const levels = (await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations;
  expect(levels).toEqual([
    { location: short, onHand: 2, reserved: 0, available: 2 },
    { location: spare, onHand: 4, reserved: 0, available: 4 },
  ]);
  await expectBooksBalance(db, [sku]);
}, 45_000);

test('a short pick no other location can cover: the missing units are refunded and the rest ships', async () => {
  const short = await location('wshort2', 1, { shortBy: 1 });
  const sku = uniqueSku('wsr');
  await stocked(sku, { [short]: 5 });
  const { id, owner } = await paidOrder([{ sku, quantity: 3 }]);
  const done = await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 30_000, services.apiUrl);
  expect(done.shipments).toEqual([
    expect.objectContaining({ location: short, items: [{ sku, quantity: 2 }] }),
  ]);
  expect(done.items[0]).toMatchObject({ quantity: 3, refundedQuantity: 1 });
  expect(done.amounts.refunded).toBe(1500);
  expect(done.history).toContainEqual(
    expect.objectContaining({
      action: 'refund',
      actor: 'system',
      reason: `${sku} × 1 short at ${short}, refunded`,
    }),
  );
  await expectBooksBalance(db, [sku]);
}, 45_000);

test('refunded in full while its parcel is with the carrier, which then brings it back: the order still hears of it, and support is asked', async () => {
  const { id, owner, loc } = await acceptedOrder('wtransit', 3, 1, 'in_transit');
  await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 20_000, services.apiUrl);
  const refund = await api('POST', `/v1/orders/${id}/refunds`, support, { reason: 'it is late' });
  expect(refund.status).toBe(201);
  expect((await api('GET', `/v1/orders/${id}`, support)).body.order.status).toBe('REFUNDED');
  await warehouse(`/v1/sandbox/locations/${loc}`, { method: 'PUT', body: { failDelivery: true } });
  const flagged = await waitForOrder(id, support, (o) => o.attention !== undefined, 20_000, services.apiUrl);
  expect(flagged).toMatchObject({ status: 'REFUNDED', attention: { code: 'delivery_failed', detail: loc } });
  // Its workflow ends once the parcel's last news is in.
  expect(await workflowResult(id)).toMatchObject({ status: 'REFUNDED' });
}, 60_000);

test('a location refused its part and the rest shipped: staff refund the refused units, and the order ships', async () => {
  const { b, x, y, id, owner } = await twoLocationOrder(['wrok'], ['wrno', { refuse: true }]);
  const partly = await waitForOrder(
    id,
    owner,
    (o) => o.status === 'PARTIALLY_SHIPPED',
    30_000,
    services.apiUrl,
  );
  expect(partly.fulfilments).toEqual(
    expect.arrayContaining([expect.objectContaining({ location: b, status: 'refused' })]),
  );
  const refund = await api('POST', `/v1/orders/${id}/refunds`, support, {
    items: [{ sku: y, quantity: 1 }],
    reason: 'the location could not send it',
  });
  expect(refund.status).toBe(201);
  const order = (await api('GET', `/v1/orders/${id}`, owner)).body.order;
  expect(order).toMatchObject({ status: 'SHIPPED', amounts: { refunded: 1500 } });
  expect(order.items.find((i: { sku: string }) => i.sku === y)).toMatchObject({ refundedQuantity: 1 });
  expect(order.shipment).toMatchObject({ carrier: 'SBX Parcel' });
  await expectBooksBalance(db, [x, y]);
  const actions = historyOf(order);
  expect(actions.slice(actions.lastIndexOf('refund'), actions.lastIndexOf('refund') + 2)).toEqual([
    'refund',
    'ship',
  ]);
}, 60_000);

test('the last parcel comes empty (its every unit missing, none elsewhere) after the rest shipped: refunded, and the order ships', async () => {
  const { a, b, x, y, id, owner } = await twoLocationOrder(
    ['wfull'],
    ['wempty', { shortBy: 1, holdNews: true }],
  );
  await waitForOrder(id, owner, (o) => o.status === 'PARTIALLY_SHIPPED', 30_000, services.apiUrl);
  // B's news, held until now: its parcel shipped with nothing in it.
  await warehouse(`/v1/sandbox/locations/${b}`, { method: 'PUT', body: {} });
  const done = await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 30_000, services.apiUrl);
  expect(done.items.find((i: { sku: string }) => i.sku === y)).toMatchObject({
    quantity: 1,
    refundedQuantity: 1,
  });
  expect(done.amounts.refunded).toBe(1500);
  expect(done.shipments).toEqual([
    expect.objectContaining({ location: a, items: [{ sku: x, quantity: 1 }] }),
  ]);
  // Shipped by the parcel that left: its carrier and tracking number are the order's.
  expect(done.shipment).toEqual({ carrier: 'SBX Parcel', trackingNumber: done.shipments[0].trackingNumber });
  expect(done.history).toContainEqual(
    expect.objectContaining({ action: 'ship', actor: 'system', from: 'PARTIALLY_SHIPPED', to: 'SHIPPED' }),
  );
  await expectBooksBalance(db, [x, y]);
}, 60_000);

test('cancelled after a parcel came empty (its unit short and refunded): nothing more is written off, and the order ends', async () => {
  const { x, y, id, owner } = await twoLocationOrder(
    ['wcea', { stallAfter: 'accepted' }],
    ['wceb', { shortBy: 1 }],
  );
  await waitForOrder(id, owner, (o) => o.amounts.refunded > 0, 30_000, services.apiUrl);
  expect((await api('POST', `/v1/orders/${id}/cancel`, owner, {})).status).toBe(200);
  const done = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED', 20_000, services.apiUrl);
  // Support's view: nothing for support to act on.
  expect((await api('GET', `/v1/orders/${id}`, support)).body.order.attention).toBeUndefined();
  expect(done.shipments).toEqual([]);
  // X back at A; Y's unit, written off at B when its parcel came empty, is not written off again.
  expect((await stockAt(x)).map((l: { onHand: number }) => l.onHand)).toEqual([5]);
  expect((await stockAt(y)).map((l: { onHand: number }) => l.onHand)).toEqual([4]);
  await expectBooksBalance(db, [x, y]);
  expect(await workflowResult(id)).toMatchObject({ status: 'CANCELLED' });
}, 60_000);

/** The location's switches off, so its recalled parcel reaches the carrier's end: back at its sender. */
async function carrierBringsBack(location: string, id: string, owner: As) {
  await warehouse(`/v1/sandbox/locations/${location}`, { method: 'PUT', body: {} });
  return waitForOrder(id, owner, (o) => historyOf(o).includes('parcel_returned'), 30_000, services.apiUrl);
}

test('a refused unit staff refunded stays out of stock when the order is cancelled later: written off where it was refused, the rest given back', async () => {
  // A's parcel is with the carrier; B refuses its two units of y. Support refunds one of them.
  const [a, b] = [
    await location('wfok', 1, { stallAfter: 'shipped' }),
    await location('wfno', 2, { refuse: true }),
  ];
  const [x, y] = [uniqueSku('wfx'), uniqueSku('wfy')];
  await stocked(x, { [a]: 5 });
  await stocked(y, { [b]: 5 });
  const { id, owner } = await paidOrder([
    { sku: x, quantity: 1 },
    { sku: y, quantity: 2 },
  ]);
  await waitForOrder(
    id,
    owner,
    (o) =>
      o.status === 'PARTIALLY_SHIPPED' &&
      o.fulfilments.some(
        (f: { location: string; status: string }) => f.location === b && f.status === 'refused',
      ),
    30_000,
    services.apiUrl,
  );
  const refund = await api('POST', `/v1/orders/${id}/refunds`, support, {
    items: [{ sku: y, quantity: 1 }],
    reason: 'the location could not send it',
  });
  expect(refund.status).toBe(201);
  expect((await api('GET', `/v1/orders/${id}`, owner)).body.order.status).toBe('PARTIALLY_SHIPPED');
  // Not back on sale at B, and no longer the order's sale: written off there.
  expect(await stockAt(y)).toEqual([{ location: b, onHand: 3, reserved: 0, available: 3 }]);
  const moves = await db('stock_movements')
    .where({ order_id: id, sku: y })
    .whereIn('kind', ['restock', 'adjust'])
    .orderBy('kind')
    .select('kind', 'location_id', 'quantity');
  expect(moves).toEqual([
    { kind: 'adjust', location_id: b, quantity: -1 },
    { kind: 'restock', location_id: b, quantity: 1 },
  ]);

  // The cancel gives back the unit not refunded, not the one refunded; A's parcel is asked back.
  const cancelled = await api('POST', `/v1/orders/${id}/cancel`, owner, { reason: 'changed my mind' });
  expect([cancelled.status, cancelled.body.order.status]).toEqual([200, 'CANCELLED']);
  expect(await stockAt(y)).toEqual([{ location: b, onHand: 4, reserved: 0, available: 4 }]);
  expect(await stockAt(x)).toEqual([{ location: a, onHand: 4, reserved: 0, available: 4 }]);
  // The carrier brings A's parcel back: its unit on hand there again, and the order's workflow ends.
  await carrierBringsBack(a, id, owner);
  expect(await stockAt(x)).toEqual([{ location: a, onHand: 5, reserved: 0, available: 5 }]);
  await expectBooksBalance(db, [x, y]);
  await expect(workflowResult(id)).resolves.toMatchObject({ status: 'CANCELLED' });
}, 90_000);

test('every location refused: a unit staff refund writes it off there, a later cancel gives back only the rest; a full refund writes off all', async () => {
  const r = await location('wfall', 1, { refuse: true });
  const y = uniqueSku('wfall');
  await stocked(y, { [r]: 5 });
  const refusedOrder = async () => {
    const placed = await paidOrder([{ sku: y, quantity: 2 }]);
    await waitForOrder(
      placed.id,
      support,
      (o) => o.attention?.code === 'fulfilment_refused',
      20_000,
      services.apiUrl,
    );
    return placed;
  };
  const { id, owner } = await refusedOrder();
  const refund = await api('POST', `/v1/orders/${id}/refunds`, support, {
    items: [{ sku: y, quantity: 1 }],
    reason: 'the location could not send it',
  });
  expect(refund.status).toBe(201);
  expect((await api('GET', `/v1/orders/${id}`, owner)).body.order.status).toBe('IN_PRODUCTION');
  // Not back on sale where it was refused: written off there.
  expect(await stockAt(y)).toEqual([{ location: r, onHand: 3, reserved: 0, available: 3 }]);
  expect(
    await db('stock_movements')
      .where({ order_id: id, sku: y })
      .whereIn('kind', ['restock', 'adjust'])
      .orderBy('kind')
      .select('kind', 'location_id', 'quantity'),
  ).toEqual([
    { kind: 'adjust', location_id: r, quantity: -1 },
    { kind: 'restock', location_id: r, quantity: 1 },
  ]);
  const cancelled = await api('POST', `/v1/orders/${id}/cancel`, owner, { reason: 'changed my mind' });
  expect([cancelled.status, cancelled.body.order.status]).toEqual([200, 'CANCELLED']);
  expect(await stockAt(y)).toEqual([{ location: r, onHand: 4, reserved: 0, available: 4 }]);
  await expect(workflowResult(id)).resolves.toMatchObject({ status: 'CANCELLED' });

  // Everything refunded at once: both units written off, the order refunded.
  const whole = await refusedOrder();
  const all = await api('POST', `/v1/orders/${whole.id}/refunds`, support, {
    reason: 'the location could not send it',
  });
  expect(all.status).toBe(201);
  expect((await api('GET', `/v1/orders/${whole.id}`, whole.owner)).body.order.status).toBe('REFUNDED');
  expect(await stockAt(y)).toEqual([{ location: r, onHand: 2, reserved: 0, available: 2 }]);
  await expectBooksBalance(db, [y]);
}, 90_000);

test('cancelled while partly shipped: what has not left is stopped, the parcel already gone is recalled and restocked where it left from once back', async () => {
  // One location ships and its parcel waits with the carrier; the other has not picked yet.
  const { gone, slow, x, y, id, owner, order } = await cancelledWithParcelOut('wg');
  expect(order.status).toBe('CANCELLED');
  expect(order.amounts.refunded).toBe(order.amounts.paid);
  expect(order.shipments).toEqual([
    expect.objectContaining({
      location: gone,
      items: [{ sku: x, quantity: 2 }],
      recalledAt: expect.any(String),
    }),
  ]);
  expect(order.fulfilments).toContainEqual(expect.objectContaining({ location: slow, status: 'cancelled' }));
  // What never left is back now; the recalled parcel's units only when it is.
  expect(await stockAt(y)).toEqual([{ location: slow, onHand: 5, reserved: 0, available: 5 }]);
  expect(await stockAt(x)).toEqual([{ location: gone, onHand: 3, reserved: 0, available: 3 }]);
  expect((await api('POST', `/v1/orders/${id}/cancel`, owner, {})).status).toBe(409);

  // The carrier brings it back.
  const back = await carrierBringsBack(gone, id, owner);
  expect(back.status).toBe('CANCELLED');
  expect(back.shipments[0]).toMatchObject({ status: 'delivery_failed', recalledAt: expect.any(String) });
  // Support's view: nothing for support to act on.
  expect((await api('GET', `/v1/orders/${id}`, support)).body.order.attention).toBeUndefined();
  expect(await stockAt(x)).toEqual([{ location: gone, onHand: 5, reserved: 0, available: 5 }]);
  await expectBooksBalance(db, [x, y]);
  // Nothing is left to wait for: the order's workflow ends.
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(id);
    await expect(handle.result()).resolves.toMatchObject({ status: 'CANCELLED' });
  } finally {
    await temporal.close();
  }
}, 90_000);

test('too late, and not heard yet: the cancel finds the parcel gone, recalls it, and writes off what its pick left short', async () => {
  // The warehouse ships (one unit short) but its news is held back: the order still thinks it is in production.
  const quiet = await location('wquiet', 1, { stallAfter: 'shipped', holdNews: true, shortBy: 1 });
  const sku = uniqueSku('wq');
  await stocked(sku, { [quiet]: 5 });
  const { id, owner } = await paidOrder([{ sku, quantity: 3 }]);
  const deadline = Date.now() + 20_000;
  let status = '';
  while (status !== 'shipped' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    status = (await warehouse(`/v1/fulfilments?order_id=${id}`)).data?.[0]?.status ?? '';
  }
  expect(status).toBe('shipped');
  expect((await api('GET', `/v1/orders/${id}`, owner)).body.order.status).toBe('IN_PRODUCTION');

  const cancelled = await api('POST', `/v1/orders/${id}/cancel`, owner, {});
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order.status).toBe('CANCELLED');
  expect(cancelled.body.order.shipments).toEqual([
    expect.objectContaining({
      location: quiet,
      items: [{ sku, quantity: 2 }],
      trackingNumber: expect.stringMatching(/^SBX/),
      recalledAt: expect.any(String),
    }),
  ]);
  const recalled = (await warehouse(`/v1/fulfilments?order_id=${id}`)).data[0];
  expect(recalled).toMatchObject({ status: 'shipped', recalled: true });

  const back = await carrierBringsBack(quiet, id, owner);
  // The short pick re-allocated nothing for a cancelled order: 2 back on hand, the missing 1 written off.
  expect(historyOf(back)).not.toContain('short_pick');
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations).toEqual([
    { location: quiet, onHand: 4, reserved: 0, available: 4 },
  ]);
  await expectBooksBalance(db, [sku]);
}, 90_000);

test('a cancel is refused once part of the order was delivered, or a parcel shipped by hand has left', async () => {
  // Delivered from one location, the other still picking.
  const [fast, slow] = [await location('wfast', 1), await location('wlate', 2, { stallAfter: 'accepted' })];
  const [x, y] = [uniqueSku('wdx'), uniqueSku('wdy')];
  await stocked(x, { [fast]: 5 });
  await stocked(y, { [slow]: 5 });
  const { id, owner } = await paidOrder([
    { sku: x, quantity: 1 },
    { sku: y, quantity: 1 },
  ]);
  await waitForOrder(
    id,
    owner,
    (o) => o.shipments?.some((s: { status: string }) => s.status === 'delivered'),
    30_000,
    services.apiUrl,
  );
  const refused = await api('POST', `/v1/orders/${id}/cancel`, owner, {});
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toMatch(/delivered: return it/);
  const after = (await api('GET', `/v1/orders/${id}`, owner)).body.order;
  expect(after.status).toBe('PARTIALLY_SHIPPED');
  expect(after.amounts.refunded).toBe(0);
}, 60_000);

test('a parcel returned to its sender while the rest has not shipped: refunded, and the rest still ships and is delivered', async () => {
  // The same SKU from two locations: the first parcel cannot be delivered, the second waits to ship.
  const [failing, later] = [
    await location('wrts', 1, { failDelivery: true }),
    await location('wrest', 2, { stallAfter: 'packed' }),
  ];
  const sku = uniqueSku('wrp');
  await stocked(sku, { [failing]: 2, [later]: 1 });
  const { id, owner } = await paidOrder([{ sku, quantity: 3 }]);
  const refunded = await waitForOrder(id, owner, (o) => o.amounts.refunded > 0, 30_000, services.apiUrl);
  expect(refunded.status).toBe('PARTIALLY_SHIPPED');
  expect(refunded.items[0]).toMatchObject({ quantity: 3, refundedQuantity: 2 });
  expect(refunded.shipments).toEqual([
    expect.objectContaining({ location: failing, status: 'delivery_failed', returnedAt: expect.any(String) }),
  ]);
  // Support's view: nothing for support to act on.
  expect((await api('GET', `/v1/orders/${id}`, support)).body.order.attention).toBeUndefined();

  await warehouse(`/v1/sandbox/locations/${later}`, { method: 'PUT', body: {} });
  const done = await waitForOrder(id, owner, (o) => o.deliveredAt !== undefined, 30_000, services.apiUrl);
  expect(done.status).toBe('SHIPPED');
  expect(done.shipments.map((s: { location: string; status: string }) => [s.location, s.status])).toEqual([
    [failing, 'delivery_failed'],
    [later, 'delivered'],
  ]);
  expect(done.amounts.refunded).toBe(3000);
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations).toEqual([
    { location: failing, onHand: 2, reserved: 0, available: 2 },
    { location: later, onHand: 0, reserved: 0, available: 0 },
  ]);
  await expectBooksBalance(db, [sku]);
}, 90_000);

test('a parcel back at its sender while a claim holds a unit of it: support is asked, nothing is restocked, and the order still takes the claim', async () => {
  // The parcel waits with the carrier while the customer says one unit never came; then it comes back.
  const loc = await location('wclm', 1, { stallAfter: 'shipped' });
  const sku = uniqueSku('wcl');
  await stocked(sku, { [loc]: 2 });
  const { id, owner } = await paidOrder([{ sku, quantity: 2 }]);
  await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 30_000, services.apiUrl);
  const opened = await api('POST', `/v1/orders/${id}/claims`, owner, {
    items: [{ sku, quantity: 1 }],
    kind: 'missing',
    resolution: 'refund',
    reason: 'one never came',
  });
  expect(opened.status).toBe(201);
  await warehouse(`/v1/sandbox/locations/${loc}`, { method: 'PUT', body: { failDelivery: true } });
  const back = await waitForOrder(
    id,
    support,
    (o) => o.attention?.code === 'delivery_failed',
    30_000,
    services.apiUrl,
  );
  expect(back.status).toBe('SHIPPED');
  expect(back.amounts.refunded).toBe(0);
  // Nothing restocked by the order: what came back is support's to place, the claim's unit included.
  expect(await stockAt(sku)).toEqual([{ location: loc, onHand: 0, reserved: 0, available: 0 }]);

  // The order is not stuck: the claim, approved, is refunded by it.
  const approved = await api('POST', `/v1/claims/${opened.body.claim.id}/approve`, merchant, {});
  expect(approved.status).toBe(200);
  const refunded = await waitForOrder(id, support, (o) => o.amounts.refunded > 0, 30_000, services.apiUrl);
  expect(refunded.amounts.refunded).toBe(1500);
  await expectBooksBalance(db, [sku]);
}, 90_000);

test('a refund of units waits while a warehouse still packs them: a 409 that changes nothing; an amount alone is refunded; a cancel stops the parcel', async () => {
  const { loc, sku, id, owner } = await acceptedOrder('wref', 3, 3);
  const before = await stockAt(sku);
  // The warehouse would ship these units anyway: they are not restocked and refunded now.
  for (const body of [{ items: [{ sku, quantity: 1 }] }, {}]) {
    const refused = await api('POST', `/v1/orders/${id}/refunds`, merchant, { reason: 'one less', ...body });
    expect(refused.status).toBe(409);
    // An amount alone may still be refunded (below); all of it may not, nor units.
    expect(refused.body.allowedActions).toContain('refund');
    expect(refused.body.allowedActions).not.toContain('refund_all');
  }
  expect(await stockAt(sku)).toEqual(before);
  const goodwill = await api('POST', `/v1/orders/${id}/refunds`, merchant, { reason: 'late', amount: 200 });
  expect(goodwill.status).toBe(201);
  expect(goodwill.body.refund.amount).toBe(200);
  expect(await stockAt(sku)).toEqual(before);

  // Cancelled, the warehouse is asked to stop and everything comes back, once.
  expect((await api('POST', `/v1/orders/${id}/cancel`, merchant, { reason: 'stop it' })).status).toBe(200);
  const done = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED', 20_000, services.apiUrl);
  expect(done.amounts.refunded).toBe(done.amounts.paid);
  expect(await stockAt(sku)).toEqual([{ location: loc, onHand: 3, reserved: 0, available: 3 }]);
  await expectBooksBalance(db, [sku]);
}, 60_000);
