/**
 * Issue 9: an order whose workers are all down is a dependency outage. The API answers 503 with
 * Retry-After within ORDER_ANSWER_TIMEOUT instead of hanging, and loses nothing: once a worker is
 * back, the order is paid exactly once, whether the first request's Update ran or the retry did.
 */
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, testDb, testTemporal } from '../support/backends';
import { acceptedUpdates, receivedSignals } from '../support/history';
import { killWorkers, startOwnServices, workerStarted, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;

beforeAll(async () => {
  services = await startOwnServices('no-worker', { ORDER_ANSWER_TIMEOUT: '3s' });
}, 90_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

/**
 * With the short answer timeout of these tests, a worker still warming up on a loaded machine can
 * make a create a 503: retried with its key, as a client would (bounded).
 */
async function placeOrder(who: ReturnType<typeof customer>, sku: string): Promise<string> {
  const key = `create-${sku}`;
  for (let attempt = 1; ; attempt++) {
    const created = await call('POST', '/v1/orders', {
      as: who,
      baseUrl: services.apiUrl,
      body: { items: [{ sku, quantity: 1 }] },
      headers: { 'idempotency-key': key },
    });
    // Up to a minute: the worker bundles its workflows first, slower beside another suite's stack.
    if (created.status !== 503 || attempt >= 20) {
      expect(created.body).toMatchObject({ order: { status: 'PENDING_PAYMENT' } });
      return created.body.order.id;
    }
  }
}

test('with every worker down, pay is a 503 within the answer timeout; after a restart the order is paid once', async () => {
  const baseUrl = services.apiUrl;
  const sku = uniqueSku('nw');
  await putProduct(sku, { price: 1500, stock: 2 }, baseUrl);
  const dana = customer();
  const id = await placeOrder(dana, sku);

  expect(await killWorkers(services.env.TASK_QUEUE!)).toBeGreaterThan(0);
  const started = Date.now();
  const refused = await call('POST', `/v1/orders/${id}/pay`, {
    as: dana,
    baseUrl,
    body: { paymentToken: 'tok_ok' },
  });
  const waited = Date.now() - started;
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('5');
  expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(refused.body.detail).toMatch(/did not answer in time/);
  // Bounded by the timeout (3s), not by the client's patience; generous for a loaded machine.
  expect(waited).toBeGreaterThanOrEqual(2500);
  expect(waited).toBeLessThan(15_000);
  // Nothing moved while nobody could act.
  expect((await call('GET', `/v1/orders/${id}`, { as: dana, baseUrl })).body.order.status).toBe(
    'PENDING_PAYMENT',
  );
  expect(await providerPayments(id)).toHaveLength(0);

  await workerStarted(services.startWorker());
  // The client retries as told, while the new worker takes over (bounded): 200 if its retry paid,
  // 409 if the first request's Update ran meanwhile.
  let retried = refused;
  for (let i = 0; i < 10 && retried.status === 503; i++)
    retried = await call('POST', `/v1/orders/${id}/pay`, {
      as: dana,
      baseUrl,
      body: { paymentToken: 'tok_ok' },
    });
  expect([200, 409]).toContain(retried.status);
  await waitForOrder(id, merchant, (o) => o.status === 'IN_PRODUCTION', 30_000, baseUrl);
  const payments = await providerPayments(id);
  expect(payments.filter((p) => p.status === 'succeeded')).toHaveLength(1);
}, 120_000);

test('with an Idempotency-Key, the retry after the 503 joins the first pay and gets its answer, not a 409', async () => {
  const baseUrl = services.apiUrl;
  const sku = uniqueSku('nwkey');
  await putProduct(sku, { price: 1700, stock: 2 }, baseUrl);
  const dana = customer();
  const id = await placeOrder(dana, sku);
  const pay = () =>
    call('POST', `/v1/orders/${id}/pay`, {
      as: dana,
      baseUrl,
      body: { paymentToken: 'tok_ok' },
      headers: { 'idempotency-key': `pay-${id}` },
    });

  expect(await killWorkers(services.env.TASK_QUEUE!)).toBeGreaterThan(0);
  expect((await pay()).status).toBe(503);
  await workerStarted(services.startWorker());
  let retried = await pay();
  for (let i = 0; i < 10 && retried.status === 503; i++) retried = await pay();
  expect(retried.status).toBe(200);
  // The first pay's own answer: the order as that pay left it.
  expect(retried.body.order.status).toBe('PAID');
  expect(retried.body.order.amounts.paid).toBe(retried.body.order.amounts.total);
  expect((await providerPayments(id)).filter((p) => p.status === 'succeeded')).toHaveLength(1);
  // The first pay's Update was the only one: besides the create, the history holds one accepted Update.
  const temporal = await testTemporal();
  try {
    const ids = (await acceptedUpdates(temporal.client.workflow.getHandle(id))).map((u) => u.updateId);
    expect(ids.filter((u) => u !== 'create')).toEqual([expect.stringMatching(/^upd_/)]);
    // Each 503 told the workflow its pay went unanswered (had the order ended unpaid, it would keep
    // looking for a charge under the key that pay would use).
    const signals = await receivedSignals(temporal.client.workflow.getHandle(id));
    expect(signals.length).toBeGreaterThan(0);
    expect(new Set(signals)).toEqual(new Set(['payUnanswered']));
  } finally {
    await temporal.close();
  }
}, 120_000);

test('an order whose workflow an operator terminated answers actions with a 409 naming that, not a 404', async () => {
  const sku = uniqueSku('term');
  await putProduct(sku, { price: 900, stock: 2 });
  const erin = customer();
  const id = (await call('POST', '/v1/orders', { as: erin, body: { items: [{ sku, quantity: 1 }] } })).body
    .order.id;
  const temporal = await testTemporal();
  try {
    await temporal.client.workflow.getHandle(id).terminate('operator closed it');
  } finally {
    await temporal.close();
  }
  const cancel = await call('POST', `/v1/orders/${id}/cancel`, { as: erin, body: {} });
  expect(cancel.status).toBe(409);
  expect(cancel.body).toMatchObject({ status: 409, workflowStatus: 'TERMINATED' });
});
