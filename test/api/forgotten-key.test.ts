/**
 * A payment provider forgets idempotency keys after a while (Stripe: 24 hours). A charge whose
 * answers were all lost, not listed when the pay gave up, keeps its key for the next pay: asked
 * again after the provider has forgotten it, that key would make a second charge. The order looks
 * the key up first when it was kept longer than the provider remembers keys (PAYMENT_KEY_MEMORY),
 * and is paid by the charge it finds; an exchange's difference likewise. Against a sandbox of this test's own that forgets keys after
 * 30 s and lists tok_lost_unlisted's charges 20 s late, the order taking 15 s as the provider's memory.
 */
import { randomUUID } from 'node:crypto';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { auditMoney } from '../../audit/money';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { expectBooksBalance, providerPayments, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const KEY_TTL_MS = 30_000;
const db = testDb();
let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('forgotten-key', {
    PAYMENT_SANDBOX_UNLISTED: '20s',
    PAYMENT_SANDBOX_KEY_TTL: `${KEY_TTL_MS}ms`,
    PAYMENT_KEY_MEMORY: '15s',
    PAYMENT_TIMEOUT: '3m',
    PAYMENT_PENDING_POLL: '2s',
  });
}, 240_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

/**
 * Until the sandbox has forgotten every key used before `answeredAt` (its memory past) and lists
 * the charges made for `id` (20 s after each): a minute at most.
 */
async function pastKeyMemory(provider: HttpPaymentProvider, id: string, answeredAt: number) {
  const forgotten = answeredAt + KEY_TTL_MS + 1_000;
  for (let i = 0; i < 120; i++) {
    if (Date.now() >= forgotten && (await provider.paymentsOf(id)).length > 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the sandbox did not list the charge within a minute');
}

/** An order's pay: the lost charge, found under the kept key, pays the order. */
async function orderPaidOnce() {
  const baseUrl = services.apiUrl;
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  // `on_payment`: the stock taken by the lost pay is the one the found charge sells.
  const sku = uniqueSku('fgk');
  await putProduct(sku, { price: 1500, stock: 2, inventoryStrategy: 'on_payment' }, baseUrl);
  const owner = customer();
  const api = (method: string, path: string, body?: object) =>
    call(method, path, { as: owner, baseUrl, body });
  const order = (await api('POST', '/v1/orders', { items: [{ sku, quantity: 1 }] })).body.order;

  // The sandbox does forget: the same key asked again past its memory makes a second intent.
  const control = `ord_control_${randomUUID().replace(/-/g, '')}`;
  const controlCharge = () =>
    provider.charge({
      idempotencyKey: `${control}:1`,
      orderId: control,
      amount: 100,
      currency: 'USD',
      token: 'tok_ok',
    });
  await controlCharge();
  await controlCharge();
  expect(await providerPayments(control)).toHaveLength(1);

  // The charge is made; no answer arrives, and the provider's list does not show it: the key is kept.
  const lost = await api('POST', `/v1/orders/${order.id}/pay`, { paymentToken: 'tok_lost_unlisted' });
  expect(lost.status).toBe(503);
  // Both creates were made before this instant: past it by the sandbox's memory, it has forgotten both keys.
  const answeredAt = Date.now();
  expect((await providerPayments(order.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', order.amounts.total],
  ]);

  // Past the provider's memory of the key (and its list showing the charge by then).
  await pastKeyMemory(provider, order.id, answeredAt);
  await controlCharge();
  expect(await providerPayments(control)).toHaveLength(2);

  // The customer pays again, with another card: under the kept key, looked up first, the lost
  // charge is found and settles the order. Asked straight away, the forgotten key would charge twice.
  const again = await api('POST', `/v1/orders/${order.id}/pay`, { paymentToken: 'tok_ok' });
  expect(again.status).toBe(202);
  const paid = await waitForOrder(order.id, owner, (o) => o.status === 'IN_PRODUCTION', 30_000, baseUrl);
  expect(paid.amounts).toMatchObject({ paid: order.amounts.total, refunded: 0 });
  expect((await providerPayments(order.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', order.amounts.total],
  ]);
  expect(await auditMoney(db, provider, [order.id])).toEqual([]);
  await expectBooksBalance(db, [sku]);
}

/** An exchange's difference: the lost charge, found under the kept key, pays it. */
async function exchangePaidOnce() {
  const baseUrl = services.apiUrl;
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  const api = (method: string, path: string, as: ReturnType<typeof customer>, body?: object) =>
    call(method, path, { as, baseUrl, body: body ?? {} });
  const [sku, dearer] = [uniqueSku('fxo'), uniqueSku('fxn')];
  await putProduct(sku, { price: 1000, stock: 5 }, baseUrl);
  await putProduct(dearer, { price: 1500, stock: 5 }, baseUrl);
  const owner = customer();
  const id = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 1 }] })).body.order
    .id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, baseUrl);
  expect(
    (await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'FK' })).status,
  ).toBe(200);
  const opened = await api('POST', `/v1/orders/${id}/exchanges`, owner, {
    returnItems: [{ sku, quantity: 1 }],
    newItems: [{ sku: dearer, quantity: 1 }],
    reason: 'the wrong size',
  });
  const exchange = opened.body.exchange;
  expect([opened.status, exchange.difference]).toEqual([201, 500]);
  expect((await api('POST', `/v1/exchanges/${exchange.id}/approve`, merchant)).status).toBe(200);
  const pay = (paymentToken: string) =>
    api('POST', `/v1/exchanges/${exchange.id}/pay`, owner, { paymentToken });

  // Charged, every answer lost, and not listed: a 503, the key kept.
  expect((await pay('tok_lost_unlisted')).status).toBe(503);
  const answeredAt = Date.now();
  await pastKeyMemory(provider, exchange.id, answeredAt);
  // Paid again past the provider's memory of the key: looked up first, that charge pays the difference.
  const paid = await pay('tok_ok');
  expect(paid.status).toBe(200);
  expect(paid.body.exchange.payment).toMatchObject({ status: 'succeeded', amount: 500 });
  expect((await providerPayments(exchange.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', 500],
  ]);
}

test('a kept charge key asked again after the provider forgot it is looked up first: the charge it made pays the order, or the exchange, and no second one is made', async () => {
  await Promise.all([orderPaidOnce(), exchangePaidOnce()]);
}, 240_000);
