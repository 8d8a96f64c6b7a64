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
import { call, customer, merchant, putProduct, uniqueSku, unpaidOrder, waitForOrder } from '../support/api';
import { expectBooksBalance, providerPayments, providerRefunds, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const db = testDb();
const provider = () => new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!);
let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('lost-charges', { PAYMENT_TIMEOUT: '8s' });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const unpaid = () => unpaidOrder({ price: 2400, stock: 10, baseUrl: services.apiUrl });
/** The order as its owner sees it once `predicate` holds (this test's own services; at most 30 s). */
const until = (
  order: { id: string; owner: Parameters<typeof waitForOrder>[1] },
  predicate: (o: any) => boolean,
) => waitForOrder(order.id, order.owner, predicate, 30_000, services.apiUrl);

/** What the lost Update's charge did: the first attempt's key, at the provider, through the adapter. */
async function chargeLost(
  order: { id: string; currency: string },
  amount: number,
  token = 'tok_ok',
  attempt = 1,
) {
  const result = await provider().charge({
    idempotencyKey: chargeKey(order.id, attempt),
    orderId: order.id,
    amount,
    currency: order.currency,
    token,
  });
  expect(result.status).toBe(token === 'tok_ok' ? 'succeeded' : 'declined');
  return (result as { paymentId: string }).paymentId;
}

async function expectAuditsClean(orderId: string, sku: string) {
  expect(await auditMoney(db, provider(), [orderId])).toEqual([]);
  await expectBooksBalance(db, [sku]);
}

test('a charge whose pay Update was lost pays the order when its payment timeout comes, not an expiry', async () => {
  const order = await unpaid();
  const paymentId = await chargeLost(order, order.total);
  // Paid, then into production, two records: past both (an expiry would show CANCELLED).
  const paid = await until(order, (o) => o.status !== 'PENDING_PAYMENT' && o.status !== 'PAID');
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
  await expectAuditsClean(order.id, order.sku);
}, 60_000);

test('a cancel finds a charge whose pay Update was lost: refused until it is settled, then refunded with the order', async () => {
  const order = await unpaid();
  const paymentId = await chargeLost(order, order.total);
  const cancel = () =>
    call('POST', `/v1/orders/${order.id}/cancel`, { as: order.owner, baseUrl: services.apiUrl, body: {} });
  const refused = await cancel();
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toMatch(/whose answer was lost has been found/);
  // The charge pays the order (it is for what the order owes), and the cancel then refunds it.
  await until(order, (o) => o.paymentStatus === 'paid');
  const cancelled = await cancel();
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    paymentStatus: 'refunded',
    amounts: { paid: order.total, refunded: order.total },
  });
  expect(cancelled.body.order.payments).toEqual([
    expect.objectContaining({ id: paymentId, refunded: order.total }),
  ]);
  expect((await providerRefunds(order.id)).map((r) => r.amount)).toEqual([order.total]);
  await expectAuditsClean(order.id, order.sku);
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
  const paid = await until(order, (o) => o.paymentStatus === 'paid');
  // Paid by the first card's charge: not held for review as the flagged card's would be.
  expect(paid).toMatchObject({ status: 'IN_PRODUCTION', amounts: { paid: order.total } });
  expect(paid.payments).toEqual([expect.objectContaining({ id: paymentId, status: 'succeeded' })]);
  expect((await providerPayments(order.id)).map((p) => p.status)).toEqual(['succeeded']);
  await expectAuditsClean(order.id, order.sku);
}, 60_000);

test('after a lost pay that was declined, paying with another card charges it under the next key', async () => {
  const order = await unpaid();
  await chargeLost(order, order.total, 'tok_declined');
  const pay = await call('POST', `/v1/orders/${order.id}/pay`, {
    as: order.owner,
    baseUrl: services.apiUrl,
    body: { paymentToken: 'tok_ok' },
  });
  expect(pay.status).toBe(200);
  expect(pay.body.order).toMatchObject({ status: 'PAID', amounts: { paid: order.total } });
  expect((await providerPayments(order.id)).map((p) => p.status)).toEqual(['declined', 'succeeded']);
  await expectAuditsClean(order.id, order.sku);
}, 60_000);

test('a lost charge for another amount than the order owes is refunded, and the order still times out', async () => {
  const order = await unpaid();
  await chargeLost(order, order.total - 100);
  const ended = await until(order, (o) => o.status === 'CANCELLED');
  expect(ended.history.map((h: { action: string }) => h.action)).toEqual([
    'place',
    'lost_payment_refunded',
    'expire',
  ]);
  expect(ended.amounts).toMatchObject({ paid: order.total - 100, refunded: order.total - 100 });
  expect((await providerRefunds(order.id)).map((r) => r.amount)).toEqual([order.total - 100]);
  await expectAuditsClean(order.id, order.sku);
}, 60_000);

test('a presale cancelled by the merchant with a lost balance charge refunds the deposit and the balance once each', async () => {
  const sku = uniqueSku('lostpre');
  await putProduct(
    sku,
    {
      price: 4000,
      stock: 10,
      presale: {
        depositPerUnit: 1000,
        balanceStartsAt: new Date(Date.now() - 60_000).toISOString(),
        balanceEndsAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    },
    services.apiUrl,
  );
  const owner = customer();
  const api = (path: string, as: typeof owner, body: object) =>
    call('POST', path, { as, baseUrl: services.apiUrl, body });
  const created = await api('/v1/orders', owner, { type: 'presale', items: [{ sku, quantity: 1 }] });
  const order = { id: created.body.order.id as string, currency: created.body.order.currency as string };
  const total = created.body.order.amounts.total as number;
  expect((await api(`/v1/orders/${order.id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  await until({ id: order.id, owner }, (o) => o.status === 'PENDING_BALANCE');
  // The balance's pay was lost: its charge is under the second attempt's key.
  await chargeLost(order, total - 1000, 'tok_ok', 2);
  const cancel = () => api(`/v1/orders/${order.id}/cancel`, merchant, { reason: 'test' });
  expect((await cancel()).status).toBe(409);
  await until({ id: order.id, owner }, (o) => o.amounts.paid === total);
  const cancelled = await cancel();
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: total, refunded: total },
  });
  expect((await providerRefunds(order.id)).map((r) => r.amount).sort()).toEqual([1000, total - 1000].sort());
  expect(await auditMoney(db, provider(), [order.id])).toEqual([]);
}, 60_000);

test('a lost charge for another amount, refunded when the customer pays: the next pay still takes its pay-time stock', async () => {
  const sku = uniqueSku('lpay');
  await putProduct(sku, { price: 2400, stock: 10, inventoryStrategy: 'on_payment' }, services.apiUrl);
  const owner = customer();
  const created = await call('POST', '/v1/orders', {
    as: owner,
    baseUrl: services.apiUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  const order = {
    id: created.body.order.id as string,
    owner,
    currency: created.body.order.currency as string,
  };
  const total = created.body.order.amounts.total as number;
  await chargeLost(order, total - 100);
  const pay = () =>
    call('POST', `/v1/orders/${order.id}/pay`, {
      as: owner,
      baseUrl: services.apiUrl,
      body: { paymentToken: 'tok_ok' },
    });
  // The same key for another amount: the provider refuses it; the charge found is not what the
  // order owes, so it is refunded and the order waits to be paid.
  const first = await pay();
  expect(first.status).toBe(202);
  const refused = await until(order, (o) => o.history.some((h: any) => h.action === 'lost_payment_refunded'));
  expect(refused).toMatchObject({
    status: 'PENDING_PAYMENT',
    amounts: { paid: total - 100, refunded: total - 100 },
  });
  expect((await pay()).status).toBe(200);
  const paid = await until(order, (o) => o.status === 'IN_PRODUCTION');
  expect(paid.amounts).toMatchObject({ paid: 2 * total - 100, refunded: total - 100 });
  // The unit is taken at this pay, as for any order of an `on_payment` line.
  const stock = (await call('GET', `/v1/products/${sku}`, { as: merchant, baseUrl: services.apiUrl })).body
    .stock;
  expect(stock).toMatchObject({ onHand: 9 });
  await expectAuditsClean(order.id, sku);
}, 60_000);
