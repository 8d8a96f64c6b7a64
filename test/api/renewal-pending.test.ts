/**
 * A held payment's renewal that the provider is still processing when the workflow stops waiting
 * for its answer (tok_reauth_slow: renewals answer after PAYMENT_SANDBOX_SLOW, and the provider
 * will not cancel one meanwhile). Given up as if refused, it cancelled the order and then settled
 * as a hold on it: the customer's money held for a cancelled order. Now it is waited for: it renews
 * the hold if it settles while that hold lasts, and is let go if the order shipped on the old hold
 * meanwhile. Against a sandbox of this test's own: holds of 50 s, renewed 25 s in, answered 16 s
 * later (the payment activity's tries give up after about 12 s).
 */
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, scheduledActivities, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('renewal', {
    PAYMENT_CAPTURE: 'on_shipment',
    PAYMENT_SANDBOX_SHORT_AUTH: '50s',
    PAYMENT_REAUTH_BEFORE: '40s',
    PAYMENT_SANDBOX_SLOW: '16s',
    PAYMENT_PENDING_POLL: '2s',
  });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: ReturnType<typeof customer>, body?: object) =>
  call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });
const ship = (id: string) =>
  api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: '1Z42' });
const audit = (id: string) =>
  auditMoney(db, new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!), [id]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An order paid with tok_reauth_slow: authorised at once, its renewal slow. */
async function heldOrder() {
  const sku = uniqueSku('renew');
  await putProduct(sku, { price: 2000, stock: 10 }, services.apiUrl);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 1 }] });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  const paid = await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_reauth_slow' });
  expect(paid.status).toBe(200);
  return { id, total: created.body.order.amounts.total as number };
}

test('a renewal still processing when its answer is given up on renews the hold once it settles', async () => {
  const { id, total } = await heldOrder();
  const renewed = await waitForOrder(
    id,
    merchant,
    (o) => o.status === 'CANCELLED' || o.history.some((h: { action: string }) => h.action === 'reauthorized'),
    90_000,
    services.apiUrl,
  );
  expect(renewed.status).toBe('IN_PRODUCTION');
  expect(renewed.payments.map((p: { status: string }) => p.status)).toEqual(['voided', 'authorized']);
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['canceled', 'requires_capture']);
  // Its answer was given up on and it was looked up, then asked about again (not answered by a try).
  expect(await scheduledActivities(id, 'reconcileCharge')).toBeGreaterThanOrEqual(2);

  // The renewal is the hold the shipment captures.
  const shipped = await ship(id);
  expect(shipped.status).toBe(200);
  expect(shipped.body.order.amounts).toMatchObject({ paid: total, authorized: 0 });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['canceled', 'succeeded']);
  expect(await audit(id)).toEqual([]);
}, 150_000);

test('a renewal still processing when the order ships on the old hold is let go once it settles', async () => {
  const { id, total } = await heldOrder();
  // Renewed 25 s in: this ship waits for the renewal's tries to end, then captures the old hold.
  await sleep(29_000);
  const shipped = await ship(id);
  expect(shipped.status).toBe(200);
  expect(shipped.body.order).toMatchObject({ status: 'SHIPPED', amounts: { paid: total, authorized: 0 } });
  // The renewal settles as a hold nobody needs: voided, not left on the customer's card.
  let statuses: string[] = [];
  for (let i = 0; i < 60; i++) {
    statuses = (await providerPayments(id)).map((p) => p.status);
    if (statuses[1] === 'canceled') break;
    await sleep(1000);
  }
  expect(statuses).toEqual(['succeeded', 'canceled']);
  expect(await audit(id)).toEqual([]);
}, 150_000);
