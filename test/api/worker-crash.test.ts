/**
 * Issue 2: the worker process is killed (SIGKILL) in the middle of an order, while a payment is
 * being charged; a new worker finishes it, and the money moved exactly once.
 */
import { call, customer, FORWARD_PATH, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, testDb } from '../support/backends';
import { killWorkers, startOwnServices, workerStarted, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;

beforeAll(async () => {
  // A slow provider, so the kill lands while the charge activity is running.
  // The paying request waits out the crash and the new worker's start (test/api/no-worker.test.ts
  // shows the 503 a shorter ORDER_ANSWER_TIMEOUT gives instead).
  services = await startOwnServices('crash', { PAYMENT_SANDBOX_LATENCY: '3s', ORDER_ANSWER_TIMEOUT: '90s' });
});
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

test('a worker killed during the payment is replaced and the order completes with one charge', async () => {
  const baseUrl = services.apiUrl;
  const sku = uniqueSku('crash');
  await putProduct(sku, { price: 2000, stock: 4 }, baseUrl);
  const carol = customer();
  const created = await call('POST', '/v1/orders', {
    as: carol,
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  expect(created.status).toBe(201);
  const id = created.body.order.id;

  // Make sure a worker polls, then kill every worker of this queue 1s into the 3s charge.
  const firstWorker = services.startWorker();
  await workerStarted(firstWorker);
  const paying = call('POST', `/v1/orders/${id}/pay`, {
    as: carol,
    baseUrl,
    body: { paymentToken: 'tok_ok' },
  });
  await new Promise((r) => setTimeout(r, 1000));
  // Every worker of this test's queue dies, so nobody can be finishing the order meanwhile.
  await killWorkers(services.env.TASK_QUEUE!);

  const replacement = services.startWorker({ PAYMENT_SANDBOX_LATENCY: '0ms' });
  await workerStarted(replacement);
  const paid = await paying;
  expect(paid.status).toBe(200);
  expect(paid.body.order.status).toBe('PAID');

  await waitForOrder(id, merchant, (o) => o.status === 'IN_PRODUCTION', 30_000, baseUrl);
  expect(
    (
      await call('POST', `/v1/orders/${id}/ship`, {
        as: merchant,
        baseUrl,
        body: { carrier: 'DHL', trackingNumber: 'X1' },
      })
    ).status,
  ).toBe(200);
  expect((await call('POST', `/v1/orders/${id}/confirm`, { as: carol, baseUrl, body: {} })).status).toBe(200);
  const done = await waitForOrder(id, carol, (o) => o.status === 'COMPLETED', 30_000, baseUrl);
  expect(done.history.map((h: any) => h.action)).toEqual(FORWARD_PATH);

  const payments = await providerPayments(id);
  expect(payments.filter((p) => p.status === 'succeeded')).toHaveLength(1);
  expect(await db('production_jobs').where({ order_id: id })).toHaveLength(1);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant, baseUrl })).body.stock).toMatchObject({
    onHand: 3,
    reserved: 0,
    available: 3,
  });
}, 120_000);
