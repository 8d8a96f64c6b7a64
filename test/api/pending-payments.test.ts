/**
 * Issue 19: a pending payment against the clock. The payment timeout waits for it (a grace), the
 * provider is asked when no webhook comes, and a 3-D Secure step never finished is given up at
 * the provider before the order expires. A sandbox of this test's own that sends no webhooks and
 * takes longer than the payment timeout to settle.
 */
import { call, customer, merchant, putProduct, uniqueSku, unpaidOrder, waitForOrder } from '../support/api';
import { providerPayments, providerRefunds, scheduledActivities } from '../support/backends';
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

const api = (method: string, path: string, as: any, body?: object) =>
  call(method, path, { as, body: body ?? (method === 'GET' ? undefined : {}), baseUrl: services.apiUrl });

/** An order of one unit of a product at 1000, paid and in production, and a second product at 1500. */
async function paidInProduction(prefix: string) {
  const [a, b] = [uniqueSku(`${prefix}a`), uniqueSku(`${prefix}b`)];
  await putProduct(a, { price: 1000, stock: 10 }, services.apiUrl);
  await putProduct(b, { price: 1500, stock: 10 }, services.apiUrl);
  const owner = customer();
  const id = (await api('POST', '/v1/orders', owner, { items: [{ sku: a, quantity: 1 }] })).body.order.id;
  expect((await pay(id, owner, 'tok_ok')).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  return { a, b, owner, id: id as string };
}

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
  // Asked about it less and less often (1 s, then 2, 4, 8...): a few times in those 14 s, not
  // every second (a transfer pending for days would fill the workflow's history).
  const asked = await scheduledActivities(id, 'reconcileCharge');
  expect(asked).toBeGreaterThanOrEqual(2);
  expect(asked).toBeLessThanOrEqual(5);
}, 60_000);

test('a redirect payment the customer finished just before it was given up is waited for, and refunded once the order has expired', async () => {
  const { id, owner, total } = await unpaid();
  const accepted = await pay(id, owner, 'tok_3ds_async');
  expect(accepted.status).toBe(202);
  const { paymentDeadline } = (await call('GET', `/v1/orders/${id}`, { as: owner, baseUrl: services.apiUrl }))
    .body.order;
  // Back from the bank's page 6.5 s past the deadline: the step is given up at 10 s past it (the
  // grace), and the bank decides 6 s after the customer came back.
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(paymentDeadline) + 6500 - Date.now())));
  expect((await fetch(accepted.body.payment.nextAction.redirectUrl, { method: 'POST' })).status).toBe(200);
  const order = await waitForOrder(
    id,
    owner,
    (o) => (o.status === 'CANCELLED' && o.amounts.refunded > 0) || o.status === 'IN_PRODUCTION',
    45_000,
    services.apiUrl,
  );
  const settled = await providerPayments(id);
  expect(settled.map((p) => p.status)).toEqual(['succeeded']);
  if (order.status === 'CANCELLED') {
    // Given up while the bank had it: not counted abandoned, and the money it took went back.
    expect(order.history.map((h: any) => h.action).slice(-2)).toEqual(['expire', 'late_payment_refunded']);
    expect(order.amounts).toMatchObject({ paid: total, refunded: total });
    expect((await providerRefunds(id)).map((r) => r.amount)).toEqual([total]);
  } else {
    // (A machine slow enough that the bank answered before the step was given up: simply paid.)
    expect(order.amounts).toMatchObject({ paid: total, refunded: 0 });
  }
}, 90_000);

test('an edit’s 3-D Secure step never finished is given up after the grace: its units go back, the edit is a preview again, and the order moves again', async () => {
  const { a, b, owner, id } = await paidInProduction('eg');
  const edit = (await api('POST', `/v1/orders/${id}/edits`, owner, { add: [{ sku: b, quantity: 1 }] })).body
    .edit;
  expect(
    (await api('POST', `/v1/order-edits/${edit.id}/confirm`, owner, { paymentToken: 'tok_3ds' })).status,
  ).toBe(202);
  // Held back meanwhile: the merchant cannot ship an order whose edit waits for its payment.
  expect(
    (await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'EG' })).status,
  ).toBe(409);
  let dropped: any;
  for (let i = 0; i < 120; i++) {
    dropped = (await api('GET', `/v1/order-edits/${edit.id}`, owner)).body.edit;
    if (dropped.status !== 'CONFIRMING') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(dropped.status).toBe('PREVIEW');
  // The edit is a preview again before the order records the payment given up: wait for that record.
  const order = await waitForOrder(
    id,
    owner,
    (o) => o.payments.length === 2 && o.payments.at(-1).status !== 'requires_action',
    10_000,
    services.apiUrl,
  );
  expect(order.items.map((l: any) => l.sku)).toEqual([a]);
  expect(order.payments.at(-1)).toMatchObject({ status: 'failed', code: 'abandoned' });
  expect((await providerPayments(id)).map((p) => p.status)).toEqual(['succeeded', 'canceled']);
  expect(
    (await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'EG' })).status,
  ).toBe(200);
}, 60_000);

test('an exchange’s 3-D Secure step never finished is given up after the grace: the difference is payable again', async () => {
  const { a, b, owner, id } = await paidInProduction('ex');
  expect(
    (await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'EX' })).status,
  ).toBe(200);
  const exchange = (
    await api('POST', `/v1/orders/${id}/exchanges`, owner, {
      returnItems: [{ sku: a, quantity: 1 }],
      newItems: [{ sku: b, quantity: 1 }],
      reason: 'the wrong size',
    })
  ).body.exchange;
  expect((await api('POST', `/v1/exchanges/${exchange.id}/approve`, merchant)).status).toBe(200);
  const started = await api('POST', `/v1/exchanges/${exchange.id}/pay`, owner, { paymentToken: 'tok_3ds' });
  expect(started.status).toBe(202);
  let now: any;
  for (let i = 0; i < 120; i++) {
    now = (await api('GET', `/v1/exchanges/${exchange.id}`, owner)).body.exchange;
    if (now.payment?.status !== 'requires_action') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(now).toMatchObject({ status: 'APPROVED', payment: { status: 'failed', code: 'abandoned' } });
  expect(now.allowedActions).toContain('pay');
  expect((await providerPayments(exchange.id)).map((p) => p.status)).toEqual(['canceled']);
  const paid = await api('POST', `/v1/exchanges/${exchange.id}/pay`, owner, { paymentToken: 'tok_ok' });
  expect(paid.status).toBe(200);
  expect(paid.body.exchange.payment).toMatchObject({ status: 'succeeded', amount: 500 });
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
