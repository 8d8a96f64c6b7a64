/**
 * A paid order cancelled while a charge of its edit is pending, after the provider took that charge
 * but before the order heard of it (no webhook yet, the next poll still to come). The cancel refunds
 * what the order knows it was paid; the edit's charge, once the order learns of it, is refunded as
 * a payment that came after its order ended: each payment refunded once, and the order ends.
 * Against a sandbox of this test's own that sends no webhooks.
 */
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { auditMoney } from '../../audit/money';
import { call, customer, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, providerRefunds, testDb, testTemporal } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('cancel-pending', {
    PAYMENT_SANDBOX_WEBHOOKS: 'off',
    PAYMENT_SANDBOX_ASYNC_DELAY: '500ms',
    PAYMENT_PENDING_POLL: '6s',
  });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

test('a cancel while an edit’s charge is pending (already taken at the provider) refunds each payment once, and the order ends', async () => {
  const baseUrl = services.apiUrl;
  const [a, b] = [uniqueSku('cpa'), uniqueSku('cpb')];
  await putProduct(a, { price: 1000, stock: 10 }, baseUrl);
  await putProduct(b, { price: 1500, stock: 10 }, baseUrl);
  const owner = customer();
  const api = (method: string, path: string, body?: object) =>
    call(method, path, { as: owner, baseUrl, body });
  const id = (await api('POST', '/v1/orders', { items: [{ sku: a, quantity: 2 }] })).body.order.id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_ok' })).status).toBe(200);
  const paid = await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, baseUrl);
  const edit = (await api('POST', `/v1/orders/${id}/edits`, { add: [{ sku: b, quantity: 1 }] })).body.edit;
  expect(
    (await api('POST', `/v1/order-edits/${edit.id}/confirm`, { paymentToken: 'tok_async_ok' })).status,
  ).toBe(202);
  // The provider takes the edit's charge; the order does not know yet.
  for (let i = 0; i < 40 && (await providerPayments(id)).some((p) => p.status !== 'succeeded'); i++)
    await new Promise((r) => setTimeout(r, 100));
  const taken = await providerPayments(id);
  expect(taken.map((p) => p.status)).toEqual(['succeeded', 'succeeded']);
  expect((await api('GET', `/v1/orders/${id}`)).body.order.payments[1].status).toBe('processing');

  expect((await api('POST', `/v1/orders/${id}/cancel`, { reason: 'changed my mind' })).status).toBe(200);
  // The edit's charge, found by the next poll: refunded as a payment after the order ended.
  const settled = await waitForOrder(
    id,
    owner,
    (o) => o.payments.every((p: { status: string }) => p.status === 'succeeded'),
    30_000,
    baseUrl,
  );
  const editCharge = taken[1]!.amount;
  expect(settled).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: paid.amounts.paid + editCharge, refunded: paid.amounts.paid + editCharge },
  });
  expect((await providerRefunds(id)).map((r) => r.amount).sort()).toEqual(
    [paid.amounts.paid, editCharge].sort(),
  );
  expect(await auditMoney(db, new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!), [id])).toEqual([]);
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(id);
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  } finally {
    await temporal.close();
  }
}, 90_000);
