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
