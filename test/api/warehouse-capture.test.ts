/**
 * Issue 20, item 5 with capture at shipment (PAYMENT_CAPTURE=on_shipment): units a warehouse could
 * not find, and no other location has, are not refunded (nothing was taken) but let go from the
 * held payment; what shipped is captured when it leaves.
 */
import { randomUUID } from 'node:crypto';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { startOwnServices, type OwnServices } from '../support/own-services';
import { expectBooksBalance, testDb } from '../support/backends';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('wcapture', {
    FULFILMENT: 'warehouse',
    PAYMENT_CAPTURE: 'on_shipment',
    // tok_reauth_declined's hold lasts 20 s and is renewed 10 s before its end (time enough for a
    // parcel to be delivered first, on a loaded machine), and declined.
    PAYMENT_SANDBOX_SHORT_AUTH: '20s',
    PAYMENT_REAUTH_BEFORE: '10s',
  });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: any, body?: object) =>
  call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });

/** A location of the shared sandbox warehouse, misbehaving as `switches` say, holding `onHand` of a new SKU. */
async function stockedLocation(prefix: string, priority: number, onHand: number, switches: object = {}) {
  const location = `${prefix}-${randomUUID().slice(0, 8)}`;
  expect((await api('PUT', `/v1/locations/${location}`, merchant, { name: location, priority })).status).toBe(
    201,
  );
  await fetch(`${process.env.WAREHOUSE_URL}/v1/sandbox/locations/${location}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(switches),
  });
  const sku = uniqueSku(prefix);
  await putProduct(sku, { stock: 0, price: 1500 }, services.apiUrl);
  expect((await api('PUT', `/v1/products/${sku}/stock/${location}`, merchant, { onHand })).status).toBe(200);
  return { location, sku };
}

test('a short pick with capture at shipment: the missing units leave the hold, the rest is captured when it ships', async () => {
  const { sku } = await stockedLocation('wcap', 1, 5, { shortBy: 1 });
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

/**
 * One unit from a location that delivers at once and one from a location that never ships, paid
 * with `token` (a short hold whose renewal is declined): the order once the first parcel is delivered.
 */
async function deliveredHalf(token: string, second: object = { stallAfter: 'accepted' }) {
  const a = await stockedLocation('wdel', 1, 5);
  const b = await stockedLocation('wwait', 2, 5, second);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, {
    items: [
      { sku: a.sku, quantity: 1 },
      { sku: b.sku, quantity: 1 },
    ],
  });
  const id = created.body.order.id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: token })).status).toBe(200);
  const delivered = await waitForOrder(
    id,
    owner,
    (o) => o.shipments.some((s: { status: string }) => s.status === 'delivered'),
    20_000,
    services.apiUrl,
  );
  expect(delivered.status).toBe('PARTIALLY_SHIPPED');
  return { id, a, b, total: delivered.amounts.total as number };
}

/** The order once the hold not renewed has been captured. */
const untilCaptured = (id: string) =>
  waitForOrder(
    id,
    merchant,
    (o) => o.history.some((h: { action: string }) => h.action === 'payment_captured'),
    30_000,
    services.apiUrl,
  );

const onHand = async (sku: string) =>
  (await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations[0].onHand as number;

test('a hold that cannot be renewed after a parcel left: captured rather than let go, and the order goes on', async () => {
  const { id, a, b, total } = await deliveredHalf('tok_reauth_declined');
  const captured = await untilCaptured(id);
  expect(captured.status).toBe('PARTIALLY_SHIPPED');
  expect(captured.attention ?? null).toBeNull();
  expect(captured.amounts).toMatchObject({ paid: total, authorized: 0 });
  expect(captured.paymentStatus).toBe('paid');
  expect(captured.payments).toEqual([expect.objectContaining({ status: 'succeeded', amount: total })]);
  // No cancel, and no second try at a hold: the one renewal refused is the only other charge.
  expect(captured.history.map((h: { action: string }) => h.action)).not.toContain('cancel');
  // The delivered unit is sold; the one still with its location stays the order's, not back on hand.
  expect([await onHand(a.sku), await onHand(b.sku)]).toEqual([4, 4]);
  await expectBooksBalance(db, [a.sku, b.sku]);
}, 60_000);

test('the capture of a hold not renewed leaves the support flag of a refused part in place', async () => {
  const { id, b } = await deliveredHalf('tok_reauth_declined', { refuse: true });
  const captured = await untilCaptured(id);
  expect(captured).toMatchObject({ status: 'PARTIALLY_SHIPPED', paymentStatus: 'paid' });
  expect(captured.attention).toMatchObject({ code: 'fulfilment_refused', detail: b.location });
}, 60_000);

test('a hold that cannot be renewed after one parcel was delivered, nor captured: cancelled and voided, the delivered units stay sold, support is asked', async () => {
  const { id, a, b } = await deliveredHalf('tok_reauth_capture_fails');
  const cancelled = await waitForOrder(
    id,
    merchant,
    (o) => o.status === 'CANCELLED',
    30_000,
    services.apiUrl,
  );
  expect(cancelled.attention).toMatchObject({ code: 'recall_failed', detail: a.location });
  expect(cancelled.amounts).toMatchObject({ paid: 0, authorized: 0 });
  // The delivered unit stays sold where it left from; the one still waiting is back on hand.
  expect([await onHand(a.sku), await onHand(b.sku)]).toEqual([4, 5]);
  await expectBooksBalance(db, [a.sku, b.sku]);
}, 60_000);
