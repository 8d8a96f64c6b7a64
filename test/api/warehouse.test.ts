/**
 * Issue 20, items 3, 4 and 9: with FULFILMENT=warehouse, production sends one fulfilment request
 * per stock location to the sandbox warehouse (its own process), each a child workflow; the
 * warehouse's signed events ship the order parcel by parcel (PARTIALLY_SHIPPED, then SHIPPED)
 * and deliver it; a refusal, a lost answer and a stalled request behave as they should. A worker
 * and API of the test's own; the shared sandbox warehouse steps every 300 ms.
 */
import { randomUUID } from 'node:crypto';
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
import { testDb, testTemporal } from '../support/backends';
import { auditStock } from '../../services/inventory/audit';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('warehouse', { FULFILMENT: 'warehouse' });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: As, body?: object) =>
  call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });
const warehouse = (path: string, init?: { method: string; body: object }) =>
  fetch(`${process.env.WAREHOUSE_URL}${path}`, {
    method: init?.method ?? 'GET',
    headers: { 'content-type': 'application/json' },
    body: init ? JSON.stringify(init.body) : undefined,
  }).then((r) => r.json() as Promise<any>);

async function location(prefix: string, priority: number, switches: object = {}) {
  const id = `${prefix}-${randomUUID().slice(0, 8)}`;
  expect((await api('PUT', `/v1/locations/${id}`, merchant, { name: id, priority })).status).toBe(201);
  await warehouse(`/v1/sandbox/locations/${id}`, { method: 'PUT', body: switches });
  return id;
}

async function stocked(sku: string, at: Record<string, number>) {
  await putProduct(sku, { stock: 0, price: 1500 }, services.apiUrl);
  for (const [loc, onHand] of Object.entries(at))
    expect((await api('PUT', `/v1/products/${sku}/stock/${loc}`, merchant, { onHand })).status).toBe(200);
}

async function paidOrder(items: { sku: string; quantity: number }[]) {
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  return { id, owner };
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
  const s = await location('wstall', 1, { stallAfter: 'accepted' });
  const sku = uniqueSku('ws');
  await stocked(sku, { [s]: 3 });
  const { id, owner } = await paidOrder([{ sku, quantity: 2 }]);
  await waitForOrder(
    id,
    owner,
    (o) => o.fulfilments.some((f: { status: string }) => f.status === 'accepted'),
    20_000,
    services.apiUrl,
  );
  await new Promise((r) => setTimeout(r, 1500));
  const stalled = await api('GET', '/v1/fulfilments?stalledFor=1s', support);
  expect(stalled.status).toBe(200);
  expect(stalled.body.items).toContainEqual(
    expect.objectContaining({ orderId: id, location: s, status: 'accepted', items: [{ sku, quantity: 2 }] }),
  );
  const fresh = await api('GET', '/v1/fulfilments?stalledFor=1h', support);
  expect(fresh.body.items.map((f: { orderId: string }) => f.orderId)).not.toContain(id);
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
  const s = await location('wcancel', 1, { stallAfter: 'picked' });
  const sku = uniqueSku('wc');
  await stocked(sku, { [s]: 3 });
  const { id, owner } = await paidOrder([{ sku, quantity: 2 }]);
  await waitForOrder(
    id,
    owner,
    (o) => o.fulfilments.some((f: { status: string }) => f.status === 'accepted'),
    20_000,
    services.apiUrl,
  );
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
  for (const a of await auditStock(db, [sku])) expect(a).toMatchObject({ balanced: true });
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
  for (const a of await auditStock(db, [sku])) expect(a).toMatchObject({ balanced: true });
}, 45_000);
