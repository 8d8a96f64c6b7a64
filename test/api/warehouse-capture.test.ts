/**
 * Issue 20, item 5 with capture at shipment (PAYMENT_CAPTURE=on_shipment): units a warehouse could
 * not find, and no other location has, are not refunded (nothing was taken) but let go from the
 * held payment; what shipped is captured when it leaves.
 */
import { randomUUID } from 'node:crypto';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('wcapture', { FULFILMENT: 'warehouse', PAYMENT_CAPTURE: 'on_shipment' });
}, 120_000);
afterAll(() => services?.stopAll());

test('a short pick with capture at shipment: the missing units leave the hold, the rest is captured when it ships', async () => {
  const api = (method: string, path: string, as: any, body?: object) =>
    call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });
  const short = `wcap-${randomUUID().slice(0, 8)}`;
  expect((await api('PUT', `/v1/locations/${short}`, merchant, { name: short, priority: 1 })).status).toBe(
    201,
  );
  await fetch(`${process.env.WAREHOUSE_URL}/v1/sandbox/locations/${short}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ shortBy: 1 }),
  });
  const sku = uniqueSku('wcap');
  await putProduct(sku, { stock: 0, price: 1500 }, services.apiUrl);
  expect((await api('PUT', `/v1/products/${sku}/stock/${short}`, merchant, { onHand: 5 })).status).toBe(200);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 3 }] });
  const id = created.body.order.id as string;
  const paid = await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' });
  expect(paid.status).toBe(200);
  const total = paid.body.order.amounts.total as number; // 3 × 15.00 and the shipping fee
  expect(paid.body.order.amounts).toMatchObject({ paid: 0, authorized: total });

  const done = await waitForOrder(id, owner, (o) => o.status === 'SHIPPED', 30_000, services.apiUrl);
  expect(done.items[0]).toMatchObject({ quantity: 3, refundedQuantity: 1 });
  // Nothing was taken for the missing unit: it was let go, not refunded; the two shipped were captured.
  expect(done.amounts).toMatchObject({ paid: total - 1500, refunded: 0, authorized: 0, released: 1500 });
  // As with a capture at once: paid, and part of it refunded (here, never taken).
  expect(done.paymentStatus).toBe('partially_refunded');
  expect(done.payments).toEqual([expect.objectContaining({ status: 'succeeded', amount: total - 1500 })]);
}, 60_000);
