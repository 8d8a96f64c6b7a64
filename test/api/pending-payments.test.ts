/**
 * Issue 19: a pending payment against the clock. The payment timeout waits for it (a grace), the
 * provider is asked when no webhook comes, and a 3-D Secure step never finished is given up at
 * the provider before the order expires. A sandbox of this test's own that sends no webhooks and
 * takes longer than the payment timeout to settle.
 */
import { call, customer, unpaidOrder, waitForOrder } from '../support/api';
import { providerPayments } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('pending', {
    PAYMENT_SANDBOX_WEBHOOKS: 'off',
    PAYMENT_SANDBOX_ASYNC_DELAY: '5s',
    PAYMENT_TIMEOUT: '3s',
    PAYMENT_PENDING_GRACE: '5s',
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
