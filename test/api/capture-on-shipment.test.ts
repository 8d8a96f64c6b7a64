/**
 * Issue 19, item 5: with PAYMENT_CAPTURE=on_shipment a physical order's payment is authorised at
 * pay, captured when the goods ship (for what the order then costs), voided on cancel, renewed
 * before the hold runs out (or the order cancelled when it cannot be), and a capture refused after
 * the goods left flags the order. Against a sandbox of this test's own whose short holds last 8 s.
 */
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, providerRefunds, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('capture', {
    PAYMENT_CAPTURE: 'on_shipment',
    PAYMENT_SANDBOX_SHORT_AUTH: '8s',
    PAYMENT_REAUTH_BEFORE: '4s',
    PAYMENT_CAPTURE_RETRY: '2s',
  });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: ReturnType<typeof customer>, body?: object) =>
  call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });

/** An order of `quantity` units, paid with `token` (authorised only), waiting to ship. */
async function heldOrder(token: string, quantity = 1) {
  const sku = uniqueSku('cap');
  await putProduct(sku, { price: 2000, stock: 10 }, services.apiUrl);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items: [{ sku, quantity }] });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  const paid = await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: token });
  expect(paid.status).toBe(200);
  const order = await waitForOrder(
    id,
    merchant,
    (o) => o.status === 'IN_PRODUCTION',
    20_000,
    services.apiUrl,
  );
  return { id, sku, owner, order };
}

const ship = (id: string) =>
  api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: '1Z42' });

/** The money rules of the invariant checker, on these orders, against the provider's own books. */
const audit = (ids: string[]) =>
  auditMoney(db, new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!), ids);

test('authorised at pay; captured at shipment for what the order then costs, the rest released', async () => {
  const { id, sku, order } = await heldOrder('tok_ok', 2);
  const total = order.amounts.total as number;
  expect(order).toMatchObject({
    paymentStatus: 'authorized',
    amounts: { paid: 0, authorized: total, released: 0, refunded: 0 },
    payments: [
      expect.objectContaining({ status: 'authorized', amount: total, captureBefore: expect.any(String) }),
    ],
  });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['requires_capture']);

  // A unit refunded before shipment was never taken: the hold shrinks, nothing goes back.
  const refund = await api('POST', `/v1/orders/${id}/refunds`, merchant, {
    items: [{ sku, quantity: 1 }],
    reason: 'out of stock',
  });
  expect(refund.status).toBe(201);
  expect(refund.body.refund).toMatchObject({ amount: order.items[0].total / 2 });
  const unit = order.items[0].total / 2;
  expect((await api('GET', `/v1/orders/${id}`, merchant)).body.order.amounts).toMatchObject({
    paid: 0,
    refunded: 0,
    released: unit,
    authorized: total - unit,
  });
  expect(await providerRefunds(id)).toEqual([]);

  const shipped = await ship(id);
  expect(shipped.status).toBe(200);
  expect(shipped.body.order).toMatchObject({
    status: 'SHIPPED',
    paymentStatus: 'partially_refunded',
    amounts: { paid: total - unit, authorized: 0, released: unit, refunded: 0 },
    payments: [expect.objectContaining({ status: 'succeeded', amount: total - unit })],
  });
  expect(
    (await providerPayments(id)).map(({ status, amount, amount_captured }) => ({
      status,
      amount,
      amount_captured,
    })),
  ).toEqual([{ status: 'succeeded', amount: total, amount_captured: total - unit }]);
  // Once taken, money goes back through the provider, up to what was captured.
  const rest = await api('POST', `/v1/orders/${id}/refunds`, merchant, { reason: 'changed plans' });
  expect(rest.status).toBe(201);
  expect((await api('GET', `/v1/orders/${id}`, merchant)).body.order).toMatchObject({
    status: 'REFUNDED',
    paymentStatus: 'refunded',
    amounts: { paid: total - unit, refunded: total - unit },
  });
  expect((await providerRefunds(id)).reduce((a, r) => a + r.amount, 0)).toBe(total - unit);
  expect(await audit([id])).toEqual([]);
}, 60_000);

test('refunded in full before shipment: the hold is voided, the order refunded with nothing taken', async () => {
  const { id } = await heldOrder('tok_ok');
  const all = await api('POST', `/v1/orders/${id}/refunds`, merchant, { reason: 'changed plans' });
  expect(all.status).toBe(201);
  expect((await api('GET', `/v1/orders/${id}`, merchant)).body.order).toMatchObject({
    status: 'REFUNDED',
    paymentStatus: 'refunded',
    amounts: { paid: 0, refunded: 0, authorized: 0 },
    payments: [expect.objectContaining({ status: 'voided' })],
  });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['canceled']);
  expect(await audit([id])).toEqual([]);
}, 60_000);

test('goodwill for all the hold has left, the order kept open: the hold is voided at the provider too', async () => {
  // 5 × 20.00: free shipping, so the goods are the whole hold.
  const { id, order } = await heldOrder('tok_ok', 5);
  expect(order.amounts).toMatchObject({ shipping: 0, authorized: 10000 });
  const goodwill = await api('POST', `/v1/orders/${id}/refunds`, merchant, {
    amount: 10000,
    reason: 'sorry',
  });
  expect(goodwill.status).toBe(201);
  expect((await api('GET', `/v1/orders/${id}`, merchant)).body.order).toMatchObject({
    status: 'IN_PRODUCTION',
    amounts: { authorized: 0, released: 10000 },
    payments: [expect.objectContaining({ status: 'voided' })],
  });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['canceled']);
  expect(await audit([id])).toEqual([]);
}, 60_000);

test('a cancel before shipment voids the hold: nothing taken, nothing refunded', async () => {
  const { id, owner, order } = await heldOrder('tok_ok');
  const cancelled = await api('POST', `/v1/orders/${id}/cancel`, owner, { reason: 'changed my mind' });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    paymentStatus: 'unpaid',
    amounts: { paid: 0, refunded: 0, authorized: 0 },
    payments: [expect.objectContaining({ status: 'voided', amount: order.amounts.total })],
  });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['canceled']);
  expect(await providerRefunds(id)).toEqual([]);
  expect(await audit([id])).toEqual([]);
}, 60_000);

test('a hold near its end is authorised again, and the new one is captured at shipment', async () => {
  const { id, order } = await heldOrder('tok_short_auth');
  const renewed = await waitForOrder(
    id,
    merchant,
    (o) => o.history.some((h: { action: string }) => h.action === 'reauthorized'),
    20_000,
    services.apiUrl,
  );
  // Renewed (once, or again if this read came late): the newest hold stands, every older one let go.
  const held = renewed.payments.map((p: { status: string }) => p.status);
  expect(held.at(-1)).toBe('authorized');
  expect(held.slice(0, -1).length).toBeGreaterThan(0);
  expect(held.slice(0, -1).every((s: string) => s === 'voided')).toBe(true);
  const shipped = await ship(id);
  expect(shipped.status).toBe(200);
  expect(shipped.body.order.amounts).toMatchObject({ paid: order.amounts.total, authorized: 0 });
  // Renewed once or more (each hold lasts 8 s): exactly one was captured, every other let go.
  const statuses = (await providerPayments(id)).map((p) => p.status);
  expect(statuses.filter((s) => s === 'succeeded')).toHaveLength(1);
  expect(statuses.filter((s) => s !== 'succeeded').every((s) => s === 'canceled')).toBe(true);
  expect(statuses.at(-1)).toBe('succeeded');
  expect(await audit([id])).toEqual([]);
}, 60_000);

test('a hold that cannot be authorised again cancels the order before it runs out, voided', async () => {
  const { id } = await heldOrder('tok_reauth_declined');
  const cancelled = await waitForOrder(
    id,
    merchant,
    (o) => o.status === 'CANCELLED',
    20_000,
    services.apiUrl,
  );
  expect(cancelled.history.at(-1)).toMatchObject({
    action: 'cancel',
    actor: 'system',
    reason: 'authorization_expired',
  });
  expect(cancelled).toMatchObject({ amounts: { paid: 0, refunded: 0, authorized: 0 } });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['canceled', 'declined']);
  expect(await audit([id])).toEqual([]);
}, 60_000);

test('a capture refused after the goods left ships anyway and flags the order for support', async () => {
  const { id, order, owner } = await heldOrder('tok_capture_fails');
  const shipped = await ship(id);
  expect(shipped.status).toBe(200);
  expect(shipped.body.order).toMatchObject({
    status: 'SHIPPED',
    paymentStatus: 'authorized',
    amounts: { paid: 0, authorized: order.amounts.total },
    attention: { code: 'capture_failed', detail: 'card_declined' },
  });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['requires_capture']);
  // Support finds it in the order center as well.
  const stored = await call('GET', `/v1/orders/${id}`, { as: merchant, baseUrl: services.apiUrl });
  expect(stored.body.order.attention).toMatchObject({ code: 'capture_failed' });
  // The flag and its decline reason are support's: the customer's view of the order has neither.
  const theirs = await api('GET', `/v1/orders/${id}`, owner);
  expect(theirs.body.order.status).toBe('SHIPPED');
  expect(theirs.body.order).not.toHaveProperty('attention');
  expect(JSON.stringify(theirs.body)).not.toContain('card_declined');
}, 60_000);

test('while a capture after shipment has no answer, a refund waits for its outcome (409), and nothing is released', async () => {
  const { id, order } = await heldOrder('tok_capture_unanswered');
  // The capture's tries (8, about 7 s) all answered 503; the provider still shows the hold.
  const shipped = await ship(id);
  expect(shipped.status).toBe(200);
  expect(shipped.body.order).toMatchObject({
    status: 'SHIPPED',
    amounts: { paid: 0, authorized: order.amounts.total },
    attention: { code: 'capture_failed', detail: 'no_answer' },
  });
  const refused = await api('POST', `/v1/orders/${id}/refunds`, merchant, { amount: 500, reason: 'sorry' });
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toMatch(/capture of the held payment got no answer/);
  expect(refused.body.allowedActions).not.toContain('refund');
  // The order's view lists no refund meanwhile either.
  const view = (await api('GET', `/v1/orders/${id}`, merchant)).body.order;
  expect(view.allowedActions).not.toContain('refund');
  expect(view.amounts).toMatchObject({ authorized: order.amounts.total, released: 0, refunded: 0 });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['requires_capture']);
}, 90_000);
