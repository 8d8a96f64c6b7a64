/** Issue 20, items 1 and 2: stock per location, and orders allocated to the fewest locations that can serve them. */
import { randomUUID } from 'node:crypto';
import { release, reserve } from '../../services/inventory/ledger';
import {
  allPages,
  call,
  customer,
  merchant,
  putProduct,
  support,
  uniqueSku,
  waitForOrder,
} from '../support/api';
import { expectBooksBalance, testDb } from '../support/backends';

const db = testDb();
afterAll(() => db.destroy());

const uniqueLocation = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function putLocation(id: string, priority: number) {
  const reply = await call('PUT', `/v1/locations/${id}`, {
    as: merchant,
    body: { name: `Warehouse ${id}`, priority },
  });
  expect([200, 201]).toContain(reply.status);
}

async function putStock(sku: string, location: string, onHand: number) {
  const reply = await call('PUT', `/v1/products/${sku}/stock/${location}`, {
    as: merchant,
    body: { onHand },
  });
  expect(reply.status).toBe(200);
  return reply.body;
}

test('locations: created (201), replaced (200), listed best-ranked first; staff only; bad input is a 400 that changes nothing', async () => {
  const id = uniqueLocation('loc');
  const created = await call('PUT', `/v1/locations/${id}`, {
    as: merchant,
    body: { name: 'East', priority: 5 },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ id, name: 'East', priority: 5 });
  const replaced = await call('PUT', `/v1/locations/${id}`, {
    as: support,
    body: { name: 'East 2', priority: 3 },
  });
  expect(replaced.status).toBe(200);
  expect(replaced.body).toMatchObject({ id, name: 'East 2', priority: 3 });

  const list = await allPages('/v1/locations', merchant, 100);
  const priorities = list.map((l: { priority: number }) => l.priority);
  expect(priorities).toEqual([...priorities].sort((a, b) => a - b));
  expect(list).toContainEqual(expect.objectContaining({ id: 'default' }));

  expect((await call('GET', `/v1/locations/${id}`, { as: customer() })).status).toBe(403);
  expect(
    (await call('PUT', `/v1/locations/${id}`, { as: customer(), body: { name: 'x', priority: 1 } })).status,
  ).toBe(403);
  for (const body of [
    { name: 'a\u0000b', priority: 1 },
    { name: 'ok', priority: -1 },
    { name: 'ok', priority: 1.5 },
    { name: 'ok' },
    { name: 'ok', priority: 1, extra: true },
  ]) {
    const reply = await call('PUT', `/v1/locations/${id}`, { as: merchant, body });
    expect(reply.status).toBe(400);
  }
  expect((await call('GET', `/v1/locations/${id}`, { as: merchant })).body).toMatchObject({
    name: 'East 2',
    priority: 3,
  });
  expect((await call('GET', `/v1/locations/${uniqueLocation('none')}`, { as: merchant })).status).toBe(404);
});

test("stock per location: a product's stock shows totals and each location; the product PUT's stock is the default location's", async () => {
  const sku = uniqueSku('per-loc');
  const east = uniqueLocation('east');
  await putLocation(east, 1);
  await putProduct(sku, { stock: 4 });
  const product = await putStock(sku, east, 6);
  expect(product.stock).toEqual({
    onHand: 10,
    reserved: 0,
    available: 10,
    locations: [
      { location: 'default', onHand: 4, reserved: 0, available: 4 },
      { location: east, onHand: 6, reserved: 0, available: 6 },
    ],
  });
  // The product's own PUT still sets the default location only.
  await putProduct(sku, { stock: 2 });
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 8,
    locations: [
      { location: 'default', onHand: 2 },
      { location: east, onHand: 6 },
    ],
  });

  expect(
    (
      await call('PUT', `/v1/products/${sku}/stock/${uniqueLocation('none')}`, {
        as: merchant,
        body: { onHand: 1 },
      })
    ).status,
  ).toBe(404);
  expect(
    (
      await call('PUT', `/v1/products/${uniqueSku('none')}/stock/${east}`, {
        as: merchant,
        body: { onHand: 1 },
      })
    ).status,
  ).toBe(404);
  expect(
    (await call('PUT', `/v1/products/${sku}/stock/${east}`, { as: merchant, body: { onHand: -1 } })).status,
  ).toBe(400);
  expect(
    (await call('PUT', `/v1/products/${sku}/stock/${east}`, { as: customer(), body: { onHand: 1 } })).status,
  ).toBe(403);
  await expectBooksBalance(db, [sku]);
});

test('allocation: the fewest locations that can serve the order, ties by priority; on the order through payment; a cancel gives each unit back where it came from', async () => {
  const [x, y] = [uniqueSku('alloc-x'), uniqueSku('alloc-y')];
  const [a, b, c] = [uniqueLocation('a'), uniqueLocation('b'), uniqueLocation('c')];
  await putLocation(a, 1);
  await putLocation(b, 2);
  await putLocation(c, 3);
  await putProduct(x, { stock: 0, price: 1000 });
  await putProduct(y, { stock: 0, price: 500 });
  await putStock(x, a, 5);
  await putStock(x, b, 5);
  await putStock(y, b, 5);
  await putStock(y, c, 5);

  // b alone serves both lines: one parcel, although a ranks before it.
  const buyer = customer();
  const one = await call('POST', '/v1/orders', {
    as: buyer,
    body: {
      items: [
        { sku: x, quantity: 2 },
        { sku: y, quantity: 2 },
      ],
    },
  });
  expect(one.status).toBe(201);
  expect(one.body.order.allocation).toEqual([
    {
      location: b,
      items: [
        { sku: x, quantity: 2 },
        { sku: y, quantity: 2 },
      ],
    },
  ]);
  // A tie (a and b both have x): the better-ranked a.
  const tie = await call('POST', '/v1/orders', {
    as: customer(),
    body: { items: [{ sku: x, quantity: 1 }] },
  });
  expect(tie.body.order.allocation).toEqual([{ location: a, items: [{ sku: x, quantity: 1 }] }]);
  // More than any one location has: split, best-ranked first.
  const split = await call('POST', '/v1/orders', {
    as: customer(),
    body: { items: [{ sku: x, quantity: 7 }] },
  });
  expect(split.status).toBe(201);
  expect(split.body.order.allocation).toEqual([
    { location: a, items: [{ sku: x, quantity: 4 }] },
    { location: b, items: [{ sku: x, quantity: 3 }] },
  ]);
  // Nothing left of x anywhere: refused, nothing moves.
  const none = await call('POST', '/v1/orders', {
    as: customer(),
    body: { items: [{ sku: x, quantity: 1 }] },
  });
  expect(none.status).toBe(422);
  expect(none.body).toMatchObject({ code: 'OUT_OF_STOCK', sku: x });

  const levels = (await call('GET', `/v1/products/${x}`, { as: merchant })).body.stock.locations;
  expect(levels).toEqual([
    { location: a, onHand: 5, reserved: 5, available: 0 },
    { location: b, onHand: 5, reserved: 5, available: 0 },
  ]);

  // Paid: the allocation stays on the order (sold units ship from there), in the order center too.
  const id = one.body.order.id;
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: buyer, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  expect(paid.body.order.allocation).toEqual(one.body.order.allocation);
  const row = await db('orders').where({ id }).first('details');
  expect(row.details.allocation).toEqual(one.body.order.allocation);
  expect((await call('GET', `/v1/products/${y}`, { as: merchant })).body.stock.locations).toEqual([
    { location: b, onHand: 3, reserved: 0, available: 3 },
    { location: c, onHand: 5, reserved: 0, available: 5 },
  ]);

  // Cancelled after payment: the units go back on hand at b, and the order no longer takes any.
  const cancelled = await call('POST', `/v1/orders/${id}/cancel`, { as: merchant, body: { reason: 'test' } });
  expect(cancelled.status).toBe(200);
  const after = await waitForOrder(id, buyer, (o) => o.status === 'CANCELLED');
  expect(after.allocation).toEqual([]);
  expect((await call('GET', `/v1/products/${y}`, { as: merchant })).body.stock.locations).toEqual([
    { location: b, onHand: 5, reserved: 0, available: 5 },
    { location: c, onHand: 5, reserved: 0, available: 5 },
  ]);
  // A location's stock cannot go below what it holds for orders.
  const below = await call('PUT', `/v1/products/${x}/stock/${a}`, { as: merchant, body: { onHand: 3 } });
  expect(below.status).toBe(422);
  expect(below.body).toMatchObject({ code: 'OUT_OF_STOCK' });
  await expectBooksBalance(db, [x, y]);
}, 60_000);

test('no oversell per location under concurrency: 60 orders for 20 units over two locations, lines in both orders', async () => {
  const [x, y] = [uniqueSku('conc-x'), uniqueSku('conc-y')];
  const [a, b] = [uniqueLocation('ca'), uniqueLocation('cb')];
  await putLocation(a, 1);
  await putLocation(b, 1);
  await putProduct(x, { stock: 0, inventoryStrategy: 'on_order' });
  await putProduct(y, { stock: 0, inventoryStrategy: 'on_order' });
  for (const [sku, location] of [
    [x, a],
    [x, b],
    [y, a],
    [y, b],
  ] as const)
    await putStock(sku, location, 10);

  // Half name x first, half y first: the locks are taken in one order whatever the request says.
  const replies = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      call('POST', '/v1/orders', {
        as: customer(),
        body: {
          items:
            i % 2 === 0
              ? [
                  { sku: x, quantity: 1 },
                  { sku: y, quantity: 1 },
                ]
              : [
                  { sku: y, quantity: 1 },
                  { sku: x, quantity: 1 },
                ],
        },
      }),
    ),
  );
  const created = replies.filter((r) => r.status === 201);
  expect(created).toHaveLength(20);
  for (const r of replies.filter((r) => r.status !== 201))
    expect(r.body).toMatchObject({ status: 422, code: 'OUT_OF_STOCK' });
  // Each order came from one location: both had both skus.
  for (const r of created) expect(r.body.order.allocation).toHaveLength(1);
  const audits = await expectBooksBalance(db, [x, y]);
  // 20 orders × 2 units took all 40 units, 10 from each level, and no level went past its stock.
  expect(audits).toHaveLength(4);
  for (const level of audits) expect(level).toMatchObject({ onHand: 10, reserved: 10 });
}, 120_000);

test('pay-time stock is allocated at payment, and the order shows where from', async () => {
  const sku = uniqueSku('pay-alloc');
  const [a, b] = [uniqueLocation('pa'), uniqueLocation('pb')];
  await putLocation(a, 1);
  await putLocation(b, 2);
  await putProduct(sku, { stock: 0, price: 1000, inventoryStrategy: 'on_payment' });
  await putStock(sku, a, 2);
  await putStock(sku, b, 3);
  const buyer = customer();
  const placed = await call('POST', '/v1/orders', { as: buyer, body: { items: [{ sku, quantity: 4 }] } });
  expect(placed.status).toBe(201);
  expect(placed.body.order.allocation).toEqual([]);
  const id = placed.body.order.id;

  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: buyer, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  // Neither location has 4 on its own: both, best-ranked first.
  expect(paid.body.order.allocation).toEqual([
    { location: a, items: [{ sku, quantity: 2 }] },
    { location: b, items: [{ sku, quantity: 2 }] },
  ]);
  expect((await call('GET', `/v1/orders/${id}`, { as: buyer })).body.order.allocation).toEqual(
    paid.body.order.allocation,
  );
  await expectBooksBalance(db, [sku]);
}, 60_000);

test('an order held on placement and reduced gives back from the worst-ranked location first', async () => {
  const sku = uniqueSku('mod-alloc');
  const [a, b] = [uniqueLocation('ma'), uniqueLocation('mb')];
  await putLocation(a, 1);
  await putLocation(b, 2);
  await putProduct(sku, { stock: 0, price: 1000, inventoryStrategy: 'on_order' });
  await putStock(sku, a, 2);
  await putStock(sku, b, 3);
  const buyer = customer();
  const placed = await call('POST', '/v1/orders', { as: buyer, body: { items: [{ sku, quantity: 4 }] } });
  expect(placed.body.order.allocation).toEqual([
    { location: a, items: [{ sku, quantity: 2 }] },
    { location: b, items: [{ sku, quantity: 2 }] },
  ]);
  const id = placed.body.order.id;
  const modified = await call('PATCH', `/v1/orders/${id}`, {
    as: buyer,
    body: { items: [{ sku, quantity: 2 }] },
  });
  expect(modified.status).toBe(200);
  expect(modified.body.order.allocation).toEqual([{ location: a, items: [{ sku, quantity: 2 }] }]);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock.locations).toEqual([
    { location: a, onHand: 2, reserved: 2, available: 0 },
    { location: b, onHand: 3, reserved: 0, available: 3 },
  ]);
  await expectBooksBalance(db, [sku]);
}, 60_000);

/** An order's units sold from the default location and another (`near`), as many as each holds, through the activities as its workflow runs them. */
async function soldFromTwoLocations(prefix: string, { atDefault = 1, atNear = 1 } = {}) {
  const { createActivities } = await import('../../activities');
  const { HttpPaymentProvider } = await import('../../services/payment/http-provider');
  const activities = createActivities({
    db,
    payments: new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!),
    defaultInventoryStrategy: 'on_order',
  });
  const sku = uniqueSku(prefix);
  const near = uniqueLocation('near');
  await putLocation(near, 1);
  await putProduct(sku, { stock: atDefault });
  await putStock(sku, near, atNear);
  const orderId = `ord_twice_${randomUUID().slice(0, 8)}`;
  await activities.placeOrder({
    orderId,
    type: 'standard',
    customerId: 'c-twice',
    items: [{ sku, quantity: atDefault + atNear }],
    policy: { paymentTimeoutMs: 1_800_000, autoConfirmAfterMs: 1, afterSalesWindowMs: 1 },
    now: new Date().toISOString(),
  });
  await activities.commitStock({ orderId });
  // Sold where the units were.
  const sold = await db('stock_movements').where({ order_id: orderId, kind: 'commit' }).pluck('location_id');
  expect(sold.sort()).toEqual([...(atDefault > 0 ? ['default'] : []), ...(atNear > 0 ? [near] : [])].sort());
  return { activities, sku, orderId, near };
}

test('a restock retried after its commit (its answer lost) puts the units back once, not again at the next location', async () => {
  const { activities, sku, orderId } = await soldFromTwoLocations('twice');
  const restock = { orderId, items: [{ sku, quantity: 1 }], tag: 'refund-1' };
  await activities.restockItems(restock);
  await activities.restockItems(restock);
  const moves = await db('stock_movements').where({ order_id: orderId, kind: 'restock' }).select('quantity');
  expect(moves.map((m) => m.quantity)).toEqual([1]);
  // Two sold, one put back (at one of the two locations).
  const audits = await expectBooksBalance(db, [sku]);
  expect(audits.map((a) => [a.sold, a.restocked, a.onHand]).sort()).toEqual([
    [1, 0, 0],
    [1, 1, 1],
  ]);
});

test('a loss retried after its commit (its answer lost) is recorded once, and the order’s other unit can still come back', async () => {
  const { activities, sku, orderId } = await soldFromTwoLocations('lossretry');
  const loss = { orderId, items: [{ sku, quantity: 1 }], tag: 'claim:c1' };
  await activities.recordLoss(loss);
  await activities.recordLoss(loss);
  const lost = await db('stock_movements').where({ order_id: orderId, kind: 'loss' }).select('quantity');
  expect(lost.map((m) => m.quantity)).toEqual([1]);
  // The other unit, returned, goes back on sale.
  await activities.restockItems({ orderId, items: [{ sku, quantity: 1 }], tag: 'return-1' });
  const back = await db('stock_movements').where({ order_id: orderId, kind: 'restock' }).select('quantity');
  expect(back.map((m) => m.quantity)).toEqual([1]);
  await expectBooksBalance(db, [sku]);
});

test('a unit recorded lost (a claim) is nobody’s to put back or lose again: a later return restocks the other, and a third loss finds nothing', async () => {
  const { activities, sku, orderId } = await soldFromTwoLocations('lost');
  await activities.recordLoss({ orderId, items: [{ sku, quantity: 1 }], tag: 'claim-1' });
  await activities.restockItems({ orderId, items: [{ sku, quantity: 1 }], tag: 'return-1' });
  await activities.recordLoss({ orderId, items: [{ sku, quantity: 1 }], tag: 'claim-2' });
  const moves = await db('stock_movements')
    .where({ order_id: orderId })
    .whereIn('kind', ['loss', 'restock'])
    .select('kind', 'location_id', 'quantity');
  expect(moves).toHaveLength(2);
  const [lost, back] = [moves.find((m) => m.kind === 'loss')!, moves.find((m) => m.kind === 'restock')!];
  expect(lost.location_id).not.toBe(back.location_id);
  await expectBooksBalance(db, [sku]);
});

test('returned damaged units sold from two locations are written off at each, once however often it is retried', async () => {
  const { activities, sku, orderId } = await soldFromTwoLocations('damaged');
  const writeOff = { orderId, items: [{ sku, quantity: 2 }], tag: 'ret_damaged' };
  await activities.writeOffReturned(writeOff);
  await activities.writeOffReturned(writeOff);
  const moves = await db('stock_movements')
    .where({ order_id: orderId })
    .whereIn('kind', ['restock', 'adjust'])
    .orderBy(['kind', 'location_id'])
    .select('kind', 'location_id', 'quantity');
  expect(moves.map((m) => `${m.kind} ${m.quantity}`)).toEqual([
    'adjust -1',
    'adjust -1',
    'restock 1',
    'restock 1',
  ]);
  expect(new Set(moves.map((m) => m.location_id)).size).toBe(2);
  // At each location: sold, put back and written off, so not on sale either (on hand stays nought).
  const audits = await expectBooksBalance(db, [sku]);
  expect(audits.map((a) => [a.location, a.sold, a.restocked, a.onHand])).toEqual(
    moves.filter((m) => m.kind === 'restock').map((m) => [m.location_id, 1, 1, 0]),
  );
});

test('a cancel writes off what each stopped parcel of one location was missing, not only the first’s', async () => {
  const { activities, sku, orderId, near } = await soldFromTwoLocations('stopped', {
    atDefault: 0,
    atNear: 2,
  });
  // Two parcels from one location (a short pick's second round there), each a unit short.
  const parcel = { location: near, items: [], missing: [{ sku, quantity: 1 }] };
  const cancel = { orderId, tag: 'cancel', stillOut: [parcel, parcel] };
  await activities.restockSold(cancel);
  await activities.restockSold(cancel);
  const adjusted = await db('stock_movements')
    .where({ order_id: orderId, kind: 'adjust', location_id: near })
    .sum('quantity as units')
    .first();
  expect(Number(adjusted!.units)).toBe(-2);
  await expectBooksBalance(db, [sku]);
});

test('two attempts of one reservation running at once hold its units once, not again at the next location', async () => {
  // X has exactly what the order asks; Y would serve it again if the second attempt were let through.
  const [x, y] = [uniqueLocation('rx'), uniqueLocation('ry')];
  await putLocation(x, 1);
  await putLocation(y, 2);
  const sku = uniqueSku('rsv');
  await putProduct(sku, { stock: 0, price: 500 });
  await putStock(sku, x, 3);
  await putStock(sku, y, 3);
  const orderId = `ord_${randomUUID().replace(/-/g, '')}`;
  const lines = [{ sku, quantity: 3 }];
  // The first attempt holds its transaction open (its answer slow) while the second starts.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const first = db.transaction(async (trx) => {
    await reserve(trx, orderId, lines, 'pay1');
    await held;
  });
  await new Promise((r) => setTimeout(r, 300));
  const second = db.transaction((trx) => reserve(trx, orderId, lines, 'pay1'));
  await new Promise((r) => setTimeout(r, 300));
  release();
  await Promise.all([first, second]);
  const moves = await db('stock_movements')
    .where({ order_id: orderId, kind: 'reserve' })
    .select('location_id', 'quantity');
  expect(moves).toEqual([{ location_id: x, quantity: 3 }]);
  await expectBooksBalance(db, [sku]);
});

test('a partial release tried again gives its units back once, not again from the next location', async () => {
  // The order holds 2 at each; giving back 2 takes the worst-ranked's, and a retry must not take X's.
  const [x, y] = [uniqueLocation('lx'), uniqueLocation('ly')];
  await putLocation(x, 1);
  await putLocation(y, 2);
  const sku = uniqueSku('rel');
  await putProduct(sku, { stock: 0, price: 500 });
  await putStock(sku, x, 2);
  await putStock(sku, y, 2);
  const orderId = `ord_${randomUUID().replace(/-/g, '')}`;
  await db.transaction((trx) => reserve(trx, orderId, [{ sku, quantity: 4 }], 'order'));
  for (let attempt = 0; attempt < 2; attempt++)
    await db.transaction((trx) => release(trx, orderId, [{ sku, quantity: 2 }], 'edit1'));
  // The same key for another SKU still gives that SKU back (a modification's tag, reused after one that failed).
  const other = uniqueSku('rel2');
  await putProduct(other, { stock: 0, price: 500 });
  await putStock(other, x, 1);
  await db.transaction((trx) => reserve(trx, orderId, [{ sku: other, quantity: 1 }], 'order2'));
  await db.transaction((trx) => release(trx, orderId, [{ sku: other, quantity: 1 }], 'edit1'));
  expect(await db('stock_levels').where({ sku: other }).first('reserved')).toEqual({ reserved: 0 });
  const reserved = await db('stock_levels')
    .where({ sku })
    .orderBy('location_id')
    .select('location_id', 'reserved');
  expect(reserved).toEqual(
    [
      { location_id: x, reserved: 2 },
      { location_id: y, reserved: 0 },
    ].sort((a, b) => a.location_id.localeCompare(b.location_id)),
  );
  await expectBooksBalance(db, [sku]);
});
