/**
 * A capture after shipment that got no answer is tried again until it is answered, whatever flag
 * later stands on the order: the workflow keeps its own word that the capture is owed. With
 * PAYMENT_CAPTURE=on_shipment, the sandbox warehouse shipping, and the shared sandbox provider,
 * whose tok_capture_unanswered captures answer 503 until the test switches its order's to answered.
 */
import { randomUUID } from 'node:crypto';
import { auditMoney } from '../../audit/money';
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
import { providerPayments, testDb, testTemporal } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('capture-retries', {
    FULFILMENT: 'warehouse',
    PAYMENT_CAPTURE: 'on_shipment',
    PAYMENT_CAPTURE_RETRY: '2s',
    AFTER_SALES_WINDOW: '2s',
  });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: As, body?: object) =>
  call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });
const put = (url: string, body: object) =>
  fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const historyOf = (o: { history: { action: string }[] }) => o.history.map((h) => h.action);

test('a capture without an answer goes on being tried after a failed delivery takes the flag, and is taken once answered', async () => {
  // A location whose parcel stays with the carrier until the test fails its delivery.
  const loc = `cr-${randomUUID().slice(0, 8)}`;
  expect((await api('PUT', `/v1/locations/${loc}`, merchant, { name: loc, priority: 1 })).status).toBe(201);
  await put(`${process.env.WAREHOUSE_URL}/v1/sandbox/locations/${loc}`, { stallAfter: 'in_transit' });
  const sku = uniqueSku('cr');
  await putProduct(sku, { stock: 0, price: 1500 }, services.apiUrl);
  expect((await api('PUT', `/v1/products/${sku}/stock/${loc}`, merchant, { onHand: 3 })).status).toBe(200);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 1 }] });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  const total = created.body.order.amounts.total as number;
  const paid = await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_capture_unanswered' });
  expect(paid.status).toBe(200);

  // Shipped by the warehouse; its capture got no answer: flagged, the money still only held.
  const shipped = await waitForOrder(
    id,
    support,
    (o) => o.status === 'SHIPPED' && o.attention?.detail === 'no_answer',
    40_000,
    services.apiUrl,
  );
  expect(shipped.amounts).toMatchObject({ paid: 0, authorized: total });
  // Confirmed and past its after-sales window, so a failed delivery is support's, not a refund.
  expect((await api('POST', `/v1/orders/${id}/confirm`, owner)).status).toBe(200);
  await waitForOrder(id, support, (o) => o.status === 'COMPLETED', 20_000, services.apiUrl);
  await put(`${process.env.WAREHOUSE_URL}/v1/sandbox/locations/${loc}`, { failDelivery: true });
  const flagged = await waitForOrder(
    id,
    support,
    (o) => o.attention?.code === 'delivery_failed',
    20_000,
    services.apiUrl,
  );
  const triesBefore = historyOf(flagged).filter((a) => a === 'capture_failed').length;

  // Still tried under the other flag, which each failed try leaves standing.
  const retried = await waitForOrder(
    id,
    support,
    (o) => historyOf(o).filter((a) => a === 'capture_failed').length > triesBefore,
    30_000,
    services.apiUrl,
  );
  expect(retried.attention).toMatchObject({ code: 'delivery_failed', detail: loc });

  // The provider answers again: the hold is captured, and the delivery's flag stays for support.
  expect(
    (await put(`${services.env.PAYMENT_PROVIDER_URL}/v1/sandbox/captures/${id}`, { answer: true })).status,
  ).toBe(200);
  const captured = await waitForOrder(
    id,
    support,
    (o) => historyOf(o).includes('payment_captured'),
    40_000,
    services.apiUrl,
  );
  expect(captured).toMatchObject({
    status: 'COMPLETED',
    amounts: { paid: total, authorized: 0 },
    attention: { code: 'delivery_failed', detail: loc },
  });
  expect(await providerPayments(id)).toEqual([
    expect.objectContaining({ status: 'succeeded', amount_captured: total }),
  ]);
  // Nothing is owed any more: the workflow ends.
  const temporal = await testTemporal();
  try {
    expect(await temporal.client.workflow.getHandle(id).result()).toMatchObject({ status: 'COMPLETED' });
  } finally {
    await temporal.close();
  }
  expect(await auditMoney(db, new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!), [id])).toEqual([]);
}, 150_000);
