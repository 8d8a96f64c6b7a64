/**
 * Issue 7: the worker is killed (SIGKILL) in the middle of a return, while the refund is being
 * paid; a new worker finishes it, and the ledger rules hold: one refund, stock back once.
 */
import { auditStock } from '../../services/inventory/audit';
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder, type As } from '../support/api';
import { providerRefunds, testDb, testTemporal } from '../support/backends';
import { killWorkers, startOwnServices, workerStarted, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;
beforeAll(async () => {
  // A slow provider, so the kill lands while the return's refund is being paid.
  services = await startOwnServices('return-crash', {
    AFTER_SALES_WINDOW: '10m',
    PAYMENT_SANDBOX_LATENCY: '2s',
  });
}, 90_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

test('a return interrupted by a worker crash finishes with one refund and the stock back once', async () => {
  const api = (method: string, path: string, as: As, body?: unknown) =>
    call(method, path, { as, body, baseUrl: services.apiUrl });
  const sku = uniqueSku('rc');
  await putProduct(sku, { price: 2500, stock: 10 }, services.apiUrl);
  const owner = customer();
  const id = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 3 }] })).body.order.id;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'RC' });
  const ret = (
    await api('POST', `/v1/orders/${id}/returns`, owner, {
      items: [{ sku, quantity: 2 }],
      reason: 'wrong colour',
    })
  ).body.return;
  await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {});
  expect((await api('POST', `/v1/returns/${ret.id}/receive`, merchant, {})).body.return.status).toBe(
    'RECEIVED',
  );

  // The order is now paying the refund through the 2s provider: kill every worker half-way.
  await new Promise((r) => setTimeout(r, 1000));
  expect(await killWorkers(services.env.TASK_QUEUE!)).toBeGreaterThan(0);
  const replacement = services.startWorker({ PAYMENT_SANDBOX_LATENCY: '0ms' });
  await workerStarted(replacement);

  const deadline = Date.now() + 60_000;
  let record: any;
  while (Date.now() < deadline) {
    record = (await api('GET', `/v1/returns/${ret.id}`, owner)).body.return;
    if (record.status === 'REFUNDED') break;
    await new Promise((r) => setTimeout(r, 300));
  }
  expect(record).toMatchObject({ status: 'REFUNDED', refundedAmount: 5000 });
  const order = (await api('GET', `/v1/orders/${id}`, owner)).body.order;
  expect(order.amounts).toMatchObject({ paid: 8300, refunded: 5000 });
  expect(order.items[0].refundedQuantity).toBe(2);

  expect((await providerRefunds(id)).map((r) => r.amount)).toEqual([5000]);
  expect(await db('stock_movements').where({ order_id: id, kind: 'restock' }).pluck('quantity')).toEqual([2]);
  expect(await auditMoney(db, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), [id])).toEqual([]);
  expect((await auditStock(db, [sku]))[0]).toMatchObject({
    onHand: 9,
    sold: 3,
    restocked: 2,
    balanced: true,
  });
}, 120_000);

test('a return ended by an operator while its refund is paid: the order refunds it and goes on, rather than fail', async () => {
  const api = (method: string, path: string, as: As, body?: unknown) =>
    call(method, path, { as, body, baseUrl: services.apiUrl });
  const sku = uniqueSku('rt');
  await putProduct(sku, { price: 1000, stock: 10 }, services.apiUrl);
  const owner = customer();
  const id = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 2 }] })).body.order.id;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'RT' });
  const ret = (
    await api('POST', `/v1/orders/${id}/returns`, owner, { items: [{ sku, quantity: 1 }], reason: 'too big' })
  ).body.return;
  await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {});
  expect((await api('POST', `/v1/returns/${ret.id}/receive`, merchant, {})).status).toBe(200);
  // The order is paying the refund through the slow provider: the return's workflow is ended
  // meanwhile (as support might from the Web UI), so the order's word to it has nobody to hear.
  const temporal = await testTemporal();
  try {
    // Once the order has the return's word that its goods are back (and is paying the refund).
    for (let i = 0; i < 40; i++) {
      const { events } = await temporal.client.workflow.getHandle(id).fetchHistory();
      const told = (events ?? []).some(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'returnReceived',
      );
      if (told) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await temporal.client.workflow.getHandle(ret.id).terminate('ended by an operator');
    const order = await waitForOrder(id, owner, (o) => o.amounts.refunded > 0, 30_000, services.apiUrl);
    expect(order.amounts.refunded).toBe(1000);
    // Told, and not failed by it: the order's workflow still runs and still takes its actions.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await temporal.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
    expect((await api('POST', `/v1/orders/${id}/confirm`, owner, {})).status).toBe(200);
  } finally {
    await temporal.close();
  }
}, 90_000);
