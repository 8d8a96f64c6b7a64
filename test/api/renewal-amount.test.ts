/**
 * A held payment's renewal whose answer never came, tried again after part of the order was
 * refunded. The provider holds the first try under its key, for the amount it asked; a try again
 * that asked less (what the order now owes) was refused as a reused key, taken as a decline, and
 * the order was cancelled while that renewal's hold stayed on the customer's card. A try again now
 * asks what the first did; the capture at shipment still takes only what is owed.
 * Against a sandbox of this test's own: holds of 180 s, renewed 90 s in, answered 20 s later (the
 * tries give up after about 12 s), with the order's payment list behind (the lookup finds nothing,
 * and the renewal is tried again a minute later).
 */
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, scheduledActivities, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('renewal-amount', {
    PAYMENT_CAPTURE: 'on_shipment',
    PAYMENT_SANDBOX_SHORT_AUTH: '180s',
    PAYMENT_REAUTH_BEFORE: '150s',
    PAYMENT_SANDBOX_SLOW: '20s',
  });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: ReturnType<typeof customer>, body?: object) =>
  call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });
const audit = (id: string) =>
  auditMoney(db, new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!), [id]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const searchBehind = (id: string, behindMs: number) =>
  fetch(`${services.env.PAYMENT_PROVIDER_URL}/v1/sandbox/payment-search/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ behindMs }),
  });

/** How many renewal tries the workflow has made (each an authorisation activity of its own). */
const renewalTries = (id: string) => scheduledActivities(id, 'capturePayment');

test('a renewal tried again after a refund asks what its first try did, and is the hold the shipment captures', async () => {
  const sku = uniqueSku('renew-amount');
  await putProduct(sku, { price: 2000, stock: 10 }, services.apiUrl);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 2 }] });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  const total = created.body.order.amounts.total as number;
  const unit = created.body.order.items[0].total / 2;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_reauth_slow' })).status).toBe(
    200,
  );
  // The order's payment list shows nothing: the renewal's lookup finds it absent.
  expect((await searchBehind(id, 600_000)).status).toBe(200);

  // The renewal's first try is out (asking the whole hold); a unit is refunded meanwhile.
  for (let i = 0; i < 150 && (await renewalTries(id)) === 0; i++) await sleep(1000);
  expect(await renewalTries(id)).toBe(1);
  const refund = await api('POST', `/v1/orders/${id}/refunds`, merchant, {
    items: [{ sku, quantity: 1 }],
    reason: 'out of stock',
  });
  expect(refund.status).toBe(201);

  const renewed = await waitForOrder(
    id,
    merchant,
    (o) => o.status === 'CANCELLED' || o.history.some((h: { action: string }) => h.action === 'reauthorized'),
    150_000,
    services.apiUrl,
  );
  expect(renewed.status).toBe('IN_PRODUCTION');
  // Renewed by the try again (the first one's answer was given up on), not by the first.
  expect(await renewalTries(id)).toBe(2);
  expect(renewed.amounts).toMatchObject({ authorized: total - unit, released: unit, paid: 0 });
  expect(renewed.payments).toEqual([
    expect.objectContaining({ status: 'voided', amount: total }),
    expect.objectContaining({ status: 'authorized', amount: total }),
  ]);

  // The shipment captures what is owed from the renewed hold, and the rest is released.
  expect((await searchBehind(id, 0)).status).toBe(200);
  // What the order lists as held is what the provider holds: the renewed hold, whole.
  expect(await audit(id)).toEqual([]);
  const shipped = await api('POST', `/v1/orders/${id}/ship`, merchant, {
    carrier: 'UPS',
    trackingNumber: '1Z43',
  });
  expect(shipped.status).toBe(200);
  expect(shipped.body.order.amounts).toMatchObject({ paid: total - unit, authorized: 0 });
  expect(await providerPayments(id)).toEqual([
    expect.objectContaining({ status: 'canceled' }),
    expect.objectContaining({ status: 'succeeded', amount_captured: total - unit }),
  ]);
  expect(await audit(id)).toEqual([]);
}, 330_000);
