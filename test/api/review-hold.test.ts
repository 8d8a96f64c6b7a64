/**
 * Issue 20, item 7: a hold before fulfilment. Orders above REVIEW_ABOVE for their currency, or
 * paid with a charge the provider scored risky (the sandbox's tok_risky), wait in IN_REVIEW for
 * staff to approve (production starts) or reject (cancelled, refunded); undecided for
 * REVIEW_TIMEOUT, they are rejected by the system. Through the HTTP API of a stack of its own.
 */
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
import { expectBooksBalance, providerRefunded, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('review', { REVIEW_ABOVE: 'USD:50000,EUR:1', REVIEW_TIMEOUT: '8s' });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: As, body?: object) =>
  call(method, path, { as, baseUrl: services.apiUrl, body: method === 'GET' ? undefined : (body ?? {}) });

/** A paid order of `quantity` units at `price`, settled past PAID (in review or in production). */
async function paidOrder(price: number, token = 'tok_ok', quantity = 1) {
  const sku = uniqueSku('rev');
  await putProduct(sku, { price, stock: 10 }, services.apiUrl);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items: [{ sku, quantity }] });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  const paid = await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: token });
  expect(paid.status).toBe(200);
  const order = await waitForOrder(id, merchant, (o) => o.status !== 'PAID', 20_000, services.apiUrl);
  return { id, sku, owner, order };
}

test('below the threshold, a normal payment goes straight to production', async () => {
  const { order } = await paidOrder(10_000);
  expect(order.status).toBe('IN_PRODUCTION');
  expect(order.history.map((h: { action: string }) => h.action)).not.toContain('hold_for_review');
});

test('above the threshold: held for review, labelled per role, approved by staff only, then produced', async () => {
  const { id, owner, order } = await paidOrder(60_000);
  expect(order.status).toBe('IN_REVIEW');
  expect(order.history.at(-1)).toMatchObject({
    from: 'PAID',
    action: 'hold_for_review',
    to: 'IN_REVIEW',
    actor: 'system',
  });
  const seen = await api('GET', `/v1/orders/${id}`, owner);
  expect(seen.body.order).toMatchObject({
    statusLabel: 'Being checked',
    allowedActions: ['cancel', 'modify', 'edit'],
  });
  const staffView = (await api('GET', `/v1/orders/${id}`, merchant)).body.order;
  expect(staffView.statusLabel).toBe('To review');
  expect(staffView.allowedActions).toEqual(expect.arrayContaining(['approve', 'reject']));

  // A customer cannot decide; production does not start while the order waits.
  expect((await api('POST', `/v1/orders/${id}/approve`, owner)).status).toBe(403);
  expect(
    (await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: '1Z' })).status,
  ).toBe(409);

  const approved = await api('POST', `/v1/orders/${id}/approve`, merchant);
  expect(approved.status).toBe(200);
  expect(approved.body.order.status).toBe('IN_PRODUCTION');
  expect(approved.body.order.history.at(-1)).toMatchObject({
    from: 'IN_REVIEW',
    action: 'approve',
    to: 'IN_PRODUCTION',
    actor: 'merchant:merchant-1',
  });
  // Decided once: a second approve is not now.
  expect((await api('POST', `/v1/orders/${id}/approve`, support)).status).toBe(409);
});

test('a payment the provider scores risky is held whatever the amount; a rejection refunds it all and gives the stock back', async () => {
  const { id, sku, order } = await paidOrder(1_000, 'tok_risky', 2);
  expect(order.status).toBe('IN_REVIEW');
  expect(order.payments).toEqual([expect.objectContaining({ status: 'succeeded', risk: 'elevated' })]);

  const rejected = await api('POST', `/v1/orders/${id}/reject`, support, { reason: 'card looks stolen' });
  expect(rejected.status).toBe(200);
  const done = await waitForOrder(id, merchant, (o) => o.status === 'CANCELLED', 20_000, services.apiUrl);
  expect(done.history.at(-1)).toMatchObject({
    from: 'IN_REVIEW',
    action: 'reject',
    to: 'CANCELLED',
    reason: 'card looks stolen',
  });
  expect(done.amounts.refunded).toBe(done.amounts.paid);
  expect(await providerRefunded(id)).toBe(done.amounts.paid);
  const [level] = await expectBooksBalance(db, [sku]);
  expect(level).toMatchObject({ onHand: 10, reserved: 0 });
});

test('nobody decides within REVIEW_TIMEOUT: the system rejects the order and refunds it', async () => {
  const { id, order } = await paidOrder(60_000);
  expect(order.status).toBe('IN_REVIEW');
  const done = await waitForOrder(id, merchant, (o) => o.status === 'CANCELLED', 30_000, services.apiUrl);
  expect(done.history.at(-1)).toMatchObject({
    from: 'IN_REVIEW',
    action: 'reject',
    to: 'CANCELLED',
    actor: 'system',
    reason: 'review_timed_out',
  });
  expect(await providerRefunded(id)).toBe(done.amounts.paid);
}, 60_000);

test('the customer may cancel while the order waits for review', async () => {
  const { id, owner, order } = await paidOrder(60_000);
  expect(order.status).toBe('IN_REVIEW');
  const cancelled = await api('POST', `/v1/orders/${id}/cancel`, owner, { reason: 'changed my mind' });
  expect(cancelled.status).toBe(200);
  const done = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED', 20_000, services.apiUrl);
  expect(done.amounts.refunded).toBe(done.amounts.paid);
});

test('a customer may not edit a paid order past the threshold (it would reach production unreviewed); staff may', async () => {
  const { id, owner, order } = await paidOrder(10_000);
  expect(order.status).toBe('IN_PRODUCTION');
  const big = uniqueSku('rev-big');
  await putProduct(big, { price: 45_000, stock: 10 }, services.apiUrl);
  const edit = { add: [{ sku: big, quantity: 1 }] };
  const refused = await api('POST', `/v1/orders/${id}/edits`, owner, edit);
  expect(refused.status).toBe(422);
  expect(refused.body).toMatchObject({ code: 'EDIT_NEEDS_REVIEW' });
  // The threshold is the merchant's secret: a customer is not told how far under it to stay.
  expect(JSON.stringify(refused.body)).not.toContain('50000');
  expect(await db('order_edits').where({ order_id: id })).toHaveLength(0);
  // Below it, or made by staff (the reviewers), an edit is previewed as before.
  const small = await api('POST', `/v1/orders/${id}/edits`, owner, {
    change: [{ sku: order.items[0].sku, quantity: 2 }],
  });
  expect(small.status).toBe(201);
  const byStaff = await api('POST', `/v1/orders/${id}/edits`, merchant, edit);
  expect(byStaff.status).toBe(201);
  expect(byStaff.body.edit.after.amounts.total).toBeGreaterThan(50_000);
});
