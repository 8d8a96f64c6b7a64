/**
 * Issue 23 (first step): a page of the order list is one SQL statement, however many orders it
 * holds (no query per order), and it reads each order exactly as reading it alone does.
 */
import { listOrders } from '../../services/orders/list-orders';
import { loadOrder } from '../../services/orders/read-order';
import { call, customer, merchant, putProduct, uniqueSku } from '../support/api';
import { testDb } from '../support/backends';

const db = testDb();
afterAll(() => db.destroy());

/** The statements `work` sends to PostgreSQL. */
async function statementsOf<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const count = (q: { sql: string }) => statements.push(q.sql);
  db.on('query', count);
  try {
    return { result: await work(), statements };
  } finally {
    db.off('query', count);
  }
}

test('a page of orders is one statement, and each order on it is the order as read alone', async () => {
  const sku = uniqueSku('list');
  await putProduct(sku, { price: 1200, stock: 50 });
  const owner = customer();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const created = await call('POST', '/v1/orders', {
      as: owner,
      body: { items: [{ sku, quantity: i + 1 }] },
    });
    expect(created.status).toBe(201);
    ids.push(created.body.order.id);
  }
  // Some history beyond placement: a payment and a shipment on one, a cancel on another.
  expect(
    (await call('POST', `/v1/orders/${ids[0]}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  expect((await call('POST', `/v1/orders/${ids[1]}/cancel`, { as: owner, body: {} })).status).toBe(200);

  const { result: page, statements } = await statementsOf(() =>
    listOrders(db, { customerId: owner.id, limit: 10 }),
  );
  expect(statements).toHaveLength(1);
  expect(page.items.map((o) => o.id)).toEqual([...ids].reverse());
  for (const order of page.items) expect(order).toEqual(await loadOrder(db, order.id));
  const byId = new Map(page.items.map((o) => [o.id, o]));
  expect(ids.map((id) => byId.get(id)!.items[0]!.quantity)).toEqual([1, 2, 3, 4, 5]);
  expect(
    byId
      .get(ids[0]!)!
      .history.map((h) => h.action)
      .slice(0, 2),
  ).toEqual(['place', 'pay']);
  expect(byId.get(ids[1]!)!).toMatchObject({ status: 'CANCELLED', amounts: { paid: 0 } });

  // Reading one order is one statement too.
  const single = await statementsOf(() => loadOrder(db, ids[0]!));
  expect(single.statements).toHaveLength(1);
  expect(single.result!.history.map((h) => h.action)).toEqual(expect.arrayContaining(['place', 'pay']));

  // And the API's list answers with the same orders (the merchant sees them all).
  const listed = await call('GET', `/v1/orders?customerId=${owner.id}&limit=10`, { as: merchant });
  expect(listed.body.items.map((o: any) => o.id)).toEqual([...ids].reverse());
});

describe('filters and sorts of the order list', () => {
  const owner = customer();
  const made: { id: string; total: number; sku: string }[] = [];
  let startedAt = '';

  beforeAll(async () => {
    const [a, b] = [uniqueSku('lf'), uniqueSku('lf')];
    await putProduct(a, { price: 1000, stock: 50 });
    await putProduct(b, { price: 3000, stock: 50 });
    startedAt = new Date(Date.now() - 1000).toISOString();
    for (const [sku, quantity] of [
      [a, 3],
      [b, 1],
      [a, 1],
      [b, 2],
    ] as const) {
      const created = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity }] } });
      expect(created.status).toBe(201);
      made.push({ id: created.body.order.id, total: created.body.order.amounts.total, sku });
    }
  });

  const list = (query: string) => call('GET', `/v1/orders?customerId=${owner.id}&${query}`, { as: merchant });
  const ids = (reply: { body: any }) => reply.body.items.map((o: any) => o.id);

  it('sorts by total within one currency, and pages through that sort', async () => {
    const byTotal = [...made].sort((x, y) => x.total - y.total || (x.id < y.id ? -1 : 1)).map((m) => m.id);
    const first = await list('sort=total&currency=USD&limit=3');
    expect(first.status).toBe(200);
    const second = await list(`sort=total&currency=USD&limit=3&cursor=${first.body.nextCursor}`);
    expect([...ids(first), ...ids(second)]).toEqual(byTotal);
    expect(second.body.nextCursor).toBeNull();
    expect(ids(await list('sort=-total&currency=USD'))).toEqual([...byTotal].reverse());
    // A cursor of one sort does not continue another, nor the same key the other way round.
    expect((await list(`sort=-createdAt&cursor=${first.body.nextCursor}`)).status).toBe(400);
    expect((await list(`sort=-total&currency=USD&cursor=${first.body.nextCursor}`)).status).toBe(400);
    const newest = await list('limit=2');
    expect(newest.body.nextCursor).toEqual(expect.any(String));
    const flipped = await list(`sort=createdAt&cursor=${newest.body.nextCursor}`);
    expect(flipped.status).toBe(400);
    expect(flipped.body.errors).toEqual([expect.objectContaining({ path: ['cursor'] })]);
    // Nor is an order list's cursor a place in an after-sales list.
    expect((await call('GET', `/v1/returns?cursor=${newest.body.nextCursor}`, { as: merchant })).status).toBe(
      400,
    );
  });

  it('filters by total, SKU, creation window and q', async () => {
    const [cheapest] = [...made].sort((x, y) => x.total - y.total);
    const within = await list(`currency=USD&maxTotal=${cheapest!.total}`);
    expect(ids(within)).toEqual([cheapest!.id]);
    expect(ids(await list(`sku=${made[1]!.sku}`)).sort()).toEqual([made[1]!.id, made[3]!.id].sort());
    expect(ids(await list(`createdFrom=${startedAt}&sort=createdAt`))).toEqual(made.map((m) => m.id));
    expect(ids(await list(`createdTo=${startedAt}`))).toEqual([]);
    expect(ids(await list(`q=${made[2]!.id.slice(0, 12)}`))).toEqual(
      made
        .filter((m) => m.id.startsWith(made[2]!.id.slice(0, 12)))
        .map((m) => m.id)
        .reverse(),
    );
    expect(ids(await list(`q=${owner.id}`))).toHaveLength(4);
  });

  it('refuses amounts without a currency and a window that ends before it starts', async () => {
    const noCurrency = await list('sort=total');
    expect(noCurrency.status).toBe(400);
    expect(noCurrency.body.errors[0].path).toEqual(['currency']);
    expect((await list('minTotal=10')).status).toBe(400);
    expect((await list(`createdFrom=${startedAt}&createdTo=${startedAt}`)).status).toBe(400);
  });
});
