/**
 * Issue 25 (tuning 6): the charge runs in the worker, inside the task that accepts the pay Update.
 * A worker that dies after the provider charged and before that task completed leaves a charge the
 * order never heard of, under the next attempt's key. Each test makes that charge itself, at the
 * real sandbox provider through the real adapter, as the lost Update's local activity would have,
 * and shows the order finding it: paid before it times out, refunded when it ends, taken when
 * the customer pays with another card, refunded when it is for another amount.
 */
import { auditMoney } from '../../audit/money';
import { chargeKey } from '../../activities/payment';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { auditStock } from '../../services/inventory/audit';
import { call, unpaidOrder, waitForOrder } from '../support/api';
import { providerPayments, providerRefunds, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const db = testDb();
const provider = () => new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!);
let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('lost-charges', { PAYMENT_TIMEOUT: '4s' });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const unpaid = () => unpaidOrder({ price: 2400, stock: 10, baseUrl: services.apiUrl });

/** What the lost Update's charge did: the first attempt's key, at the provider, through the adapter. */
async function chargeLost(order: { id: string; currency: string }, amount: number) {
  const result = await provider().charge({
    idempotencyKey: chargeKey(order.id, 1),
    orderId: order.id,
    amount,
    currency: order.currency,
    token: 'tok_ok',
  });
  expect(result.status).toBe('succeeded');
  return (result as { paymentId: string }).paymentId;
}

async function expectBooksBalance(orderId: string, sku: string) {
  expect(await auditMoney(db, provider(), [orderId])).toEqual([]);
  for (const audit of await auditStock(db, [sku])) expect(audit).toMatchObject({ balanced: true });
}

test('a charge whose pay Update was lost pays the order when its payment timeout comes, not an expiry', async () => {
  const order = await unpaid();
  const paymentId = await chargeLost(order, order.total);
  const paid = await waitForOrder(
    order.id,
    order.owner,
    (o) => o.status !== 'PENDING_PAYMENT',
    30_000,
    services.apiUrl,
  );
  expect(paid).toMatchObject({
    status: 'IN_PRODUCTION',
    paymentStatus: 'paid',
    amounts: { paid: order.total },
  });
  expect(paid.payments).toEqual([
    expect.objectContaining({ id: paymentId, status: 'succeeded', amount: order.total }),
  ]);
  expect(paid.history.map((h: { action: string }) => h.action)).toEqual(['place', 'pay', 'start_production']);
  expect((await providerPayments(order.id)).map((p) => p.status)).toEqual(['succeeded']);
  await expectBooksBalance(order.id, order.sku);
}, 60_000);

test('an order cancelled unpaid refunds a charge whose pay Update was lost', async () => {
  const order = await unpaid();
  const paymentId = await chargeLost(order, order.total);
  const cancelled = await call('POST', `/v1/orders/${order.id}/cancel`, {
    as: order.owner,
    baseUrl: services.apiUrl,
    body: {},
  });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order.status).toBe('CANCELLED');
  const settled = await waitForOrder(
    order.id,
    order.owner,
    (o) => o.amounts.refunded > 0,
    20_000,
    services.apiUrl,
  );
  expect(settled).toMatchObject({
    status: 'CANCELLED',
    paymentStatus: 'refunded',
    amounts: { paid: order.total, refunded: order.total },
  });
  expect(settled.history.at(-1)).toMatchObject({ action: 'lost_payment_refunded', to: 'CANCELLED' });
  expect(settled.payments).toEqual([expect.objectContaining({ id: paymentId, refunded: order.total })]);
  expect((await providerRefunds(order.id)).map((r) => r.amount)).toEqual([order.total]);
  await expectBooksBalance(order.id, order.sku);
}, 60_000);

test('paying with another card after a lost pay takes the charge already made, never a second', async () => {
  const order = await unpaid();
  const paymentId = await chargeLost(order, order.total);
  // The same key with another card (one the provider would flag): the provider refuses it, and the
  // order looks the key up.
  const pay = await call('POST', `/v1/orders/${order.id}/pay`, {
    as: order.owner,
    baseUrl: services.apiUrl,
    body: { paymentToken: 'tok_risky' },
  });
  expect(pay.status).toBe(202);
  expect(pay.body.payment).toMatchObject({ id: paymentId, amount: order.total });
  const paid = await waitForOrder(
    order.id,
    order.owner,
    (o) => o.paymentStatus === 'paid',
    20_000,
    services.apiUrl,
  );
  // Paid by the first card's charge: not held for review as the flagged card's would be.
  expect(paid).toMatchObject({ status: 'IN_PRODUCTION', amounts: { paid: order.total } });
  expect(paid.payments).toEqual([expect.objectContaining({ id: paymentId, status: 'succeeded' })]);
  expect((await providerPayments(order.id)).map((p) => p.status)).toEqual(['succeeded']);
  await expectBooksBalance(order.id, order.sku);
}, 60_000);

test('a lost charge for another amount than the order owes is refunded, and the order still times out', async () => {
  const order = await unpaid();
  await chargeLost(order, order.total - 100);
  const ended = await waitForOrder(
    order.id,
    order.owner,
    (o) => o.status === 'CANCELLED',
    30_000,
    services.apiUrl,
  );
  expect(ended.history.map((h: { action: string }) => h.action)).toEqual([
    'place',
    'lost_payment_refunded',
    'expire',
  ]);
  expect(ended.amounts).toMatchObject({ paid: order.total - 100, refunded: order.total - 100 });
  expect((await providerRefunds(order.id)).map((r) => r.amount)).toEqual([order.total - 100]);
  await expectBooksBalance(order.id, order.sku);
}, 60_000);
