/**
 * Issue 19: a pending payment against the clock. The payment timeout waits for it (a grace), the
 * provider is asked when no webhook comes, and a 3-D Secure step never finished is given up at
 * the provider before the order expires. A sandbox of this test's own that sends no webhooks and
 * takes longer than the payment timeout to settle.
 */
import { call, customer, putProduct, uniqueSku, unpaidOrder, waitForOrder } from '../support/api';
import { providerPayments, providerRefunds } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('pending', {
    PAYMENT_SANDBOX_WEBHOOKS: 'off',
    // Longer than the payment timeout (a transfer settles after it), shorter than timeout and
    // grace together, with seconds to spare on a loaded machine for the calls before the charge.
    PAYMENT_SANDBOX_ASYNC_DELAY: '6s',
    PAYMENT_TIMEOUT: '4s',
    PAYMENT_PENDING_GRACE: '10s',
    PAYMENT_PENDING_POLL: '1s',
  });
}, 120_000);
afterAll(() => services?.stopAll());

const unpaid = () => unpaidOrder({ price: 1500, stock: 10, baseUrl: services.apiUrl });

const pay = (id: string, owner: ReturnType<typeof customer>, paymentToken: string) =>
  call('POST', `/v1/orders/${id}/pay`, { as: owner, baseUrl: services.apiUrl, body: { paymentToken } });

test('past the payment timeout, a pending payment is waited for and found by asking: the order is paid, not expired', async () => {
  const { id, owner, total } = await unpaid();
  expect((await pay(id, owner, 'tok_async_ok')).status).toBe(202);
  const order = await waitForOrder(
    id,
    owner,
    (o) => ['IN_PRODUCTION', 'CANCELLED'].includes(o.status),
    30_000,
    services.apiUrl,
  );
  expect(order).toMatchObject({ status: 'IN_PRODUCTION', paymentStatus: 'paid', amounts: { paid: total } });
  expect(order.history.map((h: any) => h.action)).toEqual(['place', 'pay', 'start_production']);
}, 60_000);

test('a 3-D Secure step never finished is cancelled at the provider when the grace is over, then the order expires', async () => {
  const { id, owner } = await unpaid();
  expect((await pay(id, owner, 'tok_3ds')).status).toBe(202);
  const order = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED', 30_000, services.apiUrl);
  expect(order).toMatchObject({ paymentStatus: 'unpaid', amounts: { paid: 0 } });
  expect(order.payments).toEqual([expect.objectContaining({ status: 'failed', code: 'abandoned' })]);
  expect(order.history.at(-1)).toMatchObject({ action: 'expire' });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['canceled']);
}, 60_000);

test('a presale deposit that settles only after its balance window closed is refunded when the balance expires', async () => {
  // The window ends 4.5 s from now: the deposit is due by then, and its transfer (6 s) settles
  // within the grace (10 s), after the window, leaving no time to pay the balance.
  const sku = uniqueSku('late');
  await putProduct(
    sku,
    {
      price: 4000,
      stock: 5,
      presale: {
        depositPerUnit: 1000,
        balanceStartsAt: new Date(Date.now() - 60_000).toISOString(),
        balanceEndsAt: new Date(Date.now() + 4500).toISOString(),
      },
    },
    services.apiUrl,
  );
  const owner = customer();
  const created = await call('POST', '/v1/orders', {
    as: owner,
    baseUrl: services.apiUrl,
    body: { type: 'presale', items: [{ sku, quantity: 1 }] },
  });
  expect(created.status).toBe(201);
  const { id, presale, paymentDeadline } = created.body.order;
  // Due by the window's end, not the payment timeout (4 s) past it.
  expect(Date.parse(paymentDeadline)).toBeLessThanOrEqual(Date.parse(presale.balanceEndsAt));
  expect((await pay(id, owner, 'tok_async_ok')).status).toBe(202);
  const order = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED', 30_000, services.apiUrl);
  expect(order.history.map((h: any) => h.action)).toEqual(['place', 'pay', 'open_balance', 'expire']);
  expect(Date.parse(order.history[1].at)).toBeGreaterThanOrEqual(Date.parse(presale.balanceEndsAt));
  expect(order.amounts).toMatchObject({ paid: 1000, refunded: 1000 });
  expect((await providerRefunds(id)).map((r) => r.amount)).toEqual([1000]);
}, 60_000);
