/**
 * A charge whose every answer was lost, which the provider's search does not show yet (Stripe's
 * search by metadata lags behind its writes): the pay is a 503, and the charge's key is kept. A
 * second pay, with another card, is answered with that charge (one charge, never two); an order
 * left alone finds it before its payment window closes; an order cancelled before it shows
 * refunds it once it does; a pay retried under its Idempotency-Key runs again and finds it. An
 * edit waits while the pay's key is kept; a presale's deposit and balance keep theirs too (a
 * balance's still unknown when its window ends gives the deposit back, and so does the cancel a
 * deposit's charge found turned down); an exchange's and an edit's charges likewise.
 * Against a sandbox of this test's own whose search leaves
 * tok_lost_unlisted's charges out for 25 s (a charge's eight tries take about 8 s), with a 75 s
 * payment window (the keyed pay's retry must be answered before it closes).
 */
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { chargeKey } from '../../activities/payment';
import { payUnansweredSignal } from '../../workflows/messages';
import { auditMoney } from '../../audit/money';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, providerRefunds, testDb, testTemporal } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('unlisted-charge', {
    PAYMENT_SANDBOX_UNLISTED: '25s',
    PAYMENT_TIMEOUT: '75s',
    PAYMENT_PENDING_POLL: '2s',
  });
}, 240_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

/** A presale product (4000, deposit 1000 a unit, its balance window open until `endsInMs` from now). */
async function presaleProduct(
  prefix: string,
  {
    stock,
    endsInMs = 3_600_000,
    onPayment = false,
  }: { stock: number; endsInMs?: number; onPayment?: boolean },
) {
  const sku = uniqueSku(prefix);
  await putProduct(
    sku,
    {
      price: 4000,
      stock,
      ...(onPayment ? { inventoryStrategy: 'on_payment' as const } : {}),
      presale: {
        depositPerUnit: 1000,
        balanceStartsAt: new Date(Date.now() - 60_000).toISOString(),
        balanceEndsAt: new Date(Date.now() + endsInMs).toISOString(),
      },
    },
    services.apiUrl,
  );
  return sku;
}

/** Past its payment: paid and on into production (the two are recorded one after the other), or ended. */
const settled = (o: { status: string }) => o.status !== 'PENDING_PAYMENT' && o.status !== 'PAID';

test('a lost charge the provider does not list yet is paid for once: by the next pay, found before the order expires, or refunded after a cancel', async () => {
  const baseUrl = services.apiUrl;
  // `on_payment`: the stock is held by the pay that charges, and must still be held when it is found.
  const sku = uniqueSku('unl');
  await putProduct(sku, { price: 1200, stock: 4, inventoryStrategy: 'on_payment' }, baseUrl);
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);

  const place = async () => {
    const owner = customer();
    const api = (method: string, path: string, body?: object) =>
      call(method, path, { as: owner, baseUrl, body });
    const order = (await api('POST', '/v1/orders', { items: [{ sku, quantity: 1 }] })).body.order;
    return { id: order.id as string, total: order.amounts.total as number, owner, api };
  };
  const [again, alone, cancelled, keyed] = await Promise.all([place(), place(), place(), place()]);
  // One pay carries an Idempotency-Key, to be retried under it.
  const payKeyed = () =>
    call('POST', `/v1/orders/${keyed.id}/pay`, {
      as: keyed.owner,
      baseUrl,
      body: { paymentToken: 'tok_lost_unlisted' },
      headers: { 'idempotency-key': `pay-${keyed.id}` },
    });
  // The charges are made; no answer arrives, and the provider's list does not show them.
  const lost = await Promise.all([
    ...[again, alone, cancelled].map((o) =>
      o.api('POST', `/v1/orders/${o.id}/pay`, { paymentToken: 'tok_lost_unlisted' }),
    ),
    payKeyed(),
  ]);
  expect(lost.map((r) => r.status)).toEqual([503, 503, 503, 503]);
  expect(lost.every((r) => Number(r.headers.get('retry-after')) > 0)).toBe(true);
  for (const o of [again, alone, cancelled, keyed]) {
    expect((await providerPayments(o.id)).map((c) => [c.status, c.amount])).toEqual([['succeeded', o.total]]);
    expect((await o.api('GET', `/v1/orders/${o.id}`)).body.order.status).toBe('PENDING_PAYMENT');
  }
  // The stock stays held for the charges that may have been made: none is left to sell.
  const third = await call('POST', '/v1/orders', {
    as: customer(),
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  expect([third.status, third.body.code]).toEqual([422, 'OUT_OF_STOCK']);

  // The customer gives up on one: cancelled, its stock back; its charge is not shown yet.
  expect(
    (await cancelled.api('POST', `/v1/orders/${cancelled.id}/cancel`, { reason: 'gave up' })).status,
  ).toBe(200);

  // Once the provider lists it, the customer's second pay (another card) is answered with it.
  for (let i = 0; i < 450 && (await provider.paymentsOf(again.id)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  // Beside it, the keyed pay retried under its key, as its 503 asked: the workflow had answered
  // that one, and Temporal keeps an Update's answer for its id, so the retry runs as a new Update
  // of the key's and is answered with the charge the first one made (it was the same 503 for as
  // long as the order ran).
  const [second, retried] = await Promise.all([
    again.api('POST', `/v1/orders/${again.id}/pay`, { paymentToken: 'tok_ok' }),
    payKeyed(),
  ]);
  // Found under the key it was made with: the order's pending charge, settled as the provider has it.
  expect(second.status).toBe(202);
  const paid = await waitForOrder(again.id, again.owner, settled, 20_000, baseUrl);
  expect(paid).toMatchObject({ status: 'IN_PRODUCTION', amounts: { paid: again.total, refunded: 0 } });
  expect((await providerPayments(again.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', again.total],
  ]);

  expect([200, 202]).toContain(retried.status);
  const keyedPaid = await waitForOrder(keyed.id, keyed.owner, settled, 20_000, baseUrl);
  expect(keyedPaid).toMatchObject({ status: 'IN_PRODUCTION', amounts: { paid: keyed.total, refunded: 0 } });
  expect((await providerPayments(keyed.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', keyed.total],
  ]);
  // Its answer is the key's now: a further retry gets it again, replayed.
  const replayed = await payKeyed();
  expect([replayed.status, replayed.headers.get('idempotent-replayed')]).toEqual([retried.status, 'true']);

  // The other order, left alone, finds its charge before its window closes: paid, not expired.
  const found = await waitForOrder(alone.id, alone.owner, settled, 90_000, baseUrl);
  expect(found).toMatchObject({ status: 'IN_PRODUCTION', amounts: { paid: alone.total, refunded: 0 } });
  expect((await providerPayments(alone.id)).map((c) => c.status)).toEqual(['succeeded']);

  // The cancelled order finds its charge once the provider shows it, and gives the money back.
  const refunded = await waitForOrder(
    cancelled.id,
    cancelled.owner,
    (o) => o.amounts.refunded > 0,
    60_000,
    baseUrl,
  );
  expect(refunded).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: cancelled.total, refunded: cancelled.total },
    payments: [{ status: 'succeeded', amount: cancelled.total, refunded: cancelled.total }],
  });
  expect((await providerRefunds(cancelled.id)).map((r) => r.amount)).toEqual([cancelled.total]);

  expect(await auditMoney(db, provider, [again.id, alone.id, cancelled.id, keyed.id])).toEqual([]);
  // Nothing left to look for: the cancelled order's workflow ends.
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(cancelled.id);
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  } finally {
    await temporal.close();
  }
}, 240_000);

test('an order whose pay kept its key is not edited until paid: the stock held is for the lines that charge was made for', async () => {
  const baseUrl = services.apiUrl;
  const sku = uniqueSku('une');
  await putProduct(sku, { price: 1000, stock: 5, inventoryStrategy: 'on_payment' }, baseUrl);
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  const owner = customer();
  const api = (method: string, path: string, body?: object) =>
    call(method, path, { as: owner, baseUrl, body });
  const stock = async () => (await call('GET', `/v1/products/${sku}`, { as: merchant, baseUrl })).body.stock;
  const id = (await api('POST', '/v1/orders', { items: [{ sku, quantity: 1 }] })).body.order.id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_lost_unlisted' })).status).toBe(503);

  // Raising the line now would leave one unit held for three (the next pay, under the kept key,
  // holds nothing more: if the first charge never reached the provider, it charges for three and
  // sells one): refused, nothing changes.
  const raise = (await api('POST', `/v1/orders/${id}/edits`, { change: [{ sku, quantity: 3 }] })).body.edit;
  const refused = await api('POST', `/v1/order-edits/${raise.id}/confirm`, {});
  expect(refused.body).toMatchObject({ status: 409, detail: expect.stringContaining('got no answer') });
  expect(refused.body.allowedActions).toEqual(expect.arrayContaining(['pay', 'cancel']));
  expect(refused.body.allowedActions).not.toContain('edit');
  expect((await api('GET', `/v1/orders/${id}`)).body.order.items).toMatchObject([{ sku, quantity: 1 }]);
  expect(await stock()).toMatchObject({ onHand: 5, reserved: 1 });

  // Paid with that charge once it shows: the edit may go ahead, its difference charged.
  for (let i = 0; i < 450 && (await provider.paymentsOf(id)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_ok' })).status).toBe(202);
  await waitForOrder(id, owner, settled, 20_000, baseUrl);
  expect(await stock()).toMatchObject({ onHand: 4, reserved: 0 });
  const later = (await api('POST', `/v1/orders/${id}/edits`, { change: [{ sku, quantity: 3 }] })).body.edit;
  const applied = await api('POST', `/v1/order-edits/${later.id}/confirm`, { paymentToken: 'tok_ok' });
  expect([applied.status, applied.body.order.items]).toEqual([
    200,
    [expect.objectContaining({ sku, quantity: 3 })],
  ]);
  expect(await stock()).toMatchObject({ onHand: 2, reserved: 0 });
}, 120_000);

test('a presale’s deposit refused as its key’s reuse, that charge not listed yet: the pay-time stock stays held for the key, and is sold with the balance', async () => {
  const baseUrl = services.apiUrl;
  const sku = await presaleProduct('unp', { stock: 3, onPayment: true });
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  const owner = customer();
  const api = (method: string, path: string, body?: object) =>
    call(method, path, { as: owner, baseUrl, body });
  const stock = async () => (await call('GET', `/v1/products/${sku}`, { as: merchant, baseUrl })).body.stock;
  const created = (await api('POST', '/v1/orders', { type: 'presale', items: [{ sku, quantity: 1 }] })).body
    .order;
  const id = created.id as string;
  // A deposit's pay whose Update was lost (its worker died before the task completed) made this
  // charge under the first key, with another card; its answer lost, the provider not listing it yet.
  await provider
    .charge({
      idempotencyKey: chargeKey(id, 1),
      orderId: id,
      amount: 1000,
      currency: created.currency,
      token: 'tok_lost_unlisted',
    })
    .catch(() => undefined);
  // The customer's deposit, under that key: refused as its reuse, and not found; the key is asked
  // again by the next pay, and the unit held for it stays held.
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_ok' })).status).toBe(503);
  expect(await stock()).toMatchObject({ onHand: 3, reserved: 1 });

  // Listed now: the next pay is answered with that charge, the deposit paid; then the balance.
  for (let i = 0; i < 450 && (await provider.paymentsOf(id)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_ok' })).status).toBe(202);
  await waitForOrder(id, owner, (o) => o.status === 'PENDING_BALANCE', 20_000, baseUrl);
  expect(await stock()).toMatchObject({ onHand: 3, reserved: 1 });
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_ok' })).status).toBe(200);
  const paid = await waitForOrder(id, owner, settled, 20_000, baseUrl);
  expect(paid.amounts).toMatchObject({ paid: created.amounts.total, refunded: 0 });
  expect(await stock()).toMatchObject({ onHand: 2, reserved: 0 });
  expect(await auditMoney(db, provider, [id])).toEqual([]);
}, 120_000);

test('a presale’s deposit, and another’s balance, whose charges got no answer and are not listed yet are paid once: the next pay is answered with that charge', async () => {
  const baseUrl = services.apiUrl;
  const sku = await presaleProduct('unb', { stock: 5 });
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  const place = async () => {
    const owner = customer();
    const api = (method: string, path: string, body?: object) =>
      call(method, path, { as: owner, baseUrl, body });
    const order = (await api('POST', '/v1/orders', { type: 'presale', items: [{ sku, quantity: 1 }] })).body
      .order;
    return { id: order.id as string, total: order.amounts.total as number, owner, api };
  };
  const [deposit, balance] = await Promise.all([place(), place()]);
  expect((await balance.api('POST', `/v1/orders/${balance.id}/pay`, { paymentToken: 'tok_ok' })).status).toBe(
    200,
  );
  await waitForOrder(balance.id, balance.owner, (o) => o.status === 'PENDING_BALANCE', 20_000, baseUrl);
  const pay = (o: typeof deposit, paymentToken: string) =>
    o.api('POST', `/v1/orders/${o.id}/pay`, { paymentToken });
  const lost = await Promise.all([pay(deposit, 'tok_lost_unlisted'), pay(balance, 'tok_lost_unlisted')]);
  expect(lost.map((r) => r.status)).toEqual([503, 503]);

  // Once the provider lists them, each next pay (another card) is answered with the charge made.
  for (const [o, charges] of [
    [deposit, 1],
    [balance, 2],
  ] as const)
    for (let i = 0; i < 450 && (await provider.paymentsOf(o.id)).length < charges; i++)
      await new Promise((r) => setTimeout(r, 100));
  const again = await Promise.all([pay(deposit, 'tok_ok'), pay(balance, 'tok_ok')]);
  expect(again.map((r) => r.status)).toEqual([202, 202]);
  const deposited = await waitForOrder(deposit.id, deposit.owner, (o) => o.amounts.paid > 0, 20_000, baseUrl);
  expect(deposited).toMatchObject({ status: 'PENDING_BALANCE', amounts: { paid: 1000, refunded: 0 } });
  const paid = await waitForOrder(balance.id, balance.owner, settled, 20_000, baseUrl);
  expect(paid.amounts).toMatchObject({ paid: balance.total, refunded: 0 });
  expect((await providerPayments(deposit.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', 1000],
  ]);
  expect((await providerPayments(balance.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', 1000],
    ['succeeded', balance.total - 1000],
  ]);
  expect(await auditMoney(db, provider, [deposit.id, balance.id])).toEqual([]);
}, 120_000);

test('a presale’s balance whose charge got no answer and is not listed when its window ends: the deposit is given back, not kept, and the charge refunded once found', async () => {
  const baseUrl = services.apiUrl;
  // The balance window ends 18 s from now: after the balance's 503 (its tries take about 8 s),
  // before its charge is listed (25 s after it was made).
  const sku = await presaleProduct('unw', { stock: 5, endsInMs: 18_000 });
  const owner = customer();
  const api = (method: string, path: string, body?: object) =>
    call(method, path, { as: owner, baseUrl, body });
  const order = (await api('POST', '/v1/orders', { type: 'presale', items: [{ sku, quantity: 1 }] })).body
    .order;
  const [id, total] = [order.id as string, order.amounts.total as number];
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_ok' })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'PENDING_BALANCE', 10_000, baseUrl);
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_lost_unlisted' })).status).toBe(503);

  // The window ends with the balance's outcome unknown: the deposit goes back, as for a charge
  // still processing; once the charge shows, it is refunded too. Nothing is kept.
  const ended = await waitForOrder(id, owner, (o) => o.amounts.refunded === total, 60_000, baseUrl);
  expect(ended).toMatchObject({ status: 'CANCELLED', amounts: { paid: total, refunded: total } });
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  expect((await providerRefunds(id)).map((r) => r.amount).sort()).toEqual([1000, total - 1000].sort());
  expect(await auditMoney(db, provider, [id])).toEqual([]);
}, 120_000);

test('a presale’s deposit told 503, its charge found by the customer’s cancel: that cancel is a 409, and asked again it gives the deposit back', async () => {
  const baseUrl = services.apiUrl;
  const sku = await presaleProduct('unc', { stock: 3 });
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  const owner = customer();
  const api = (method: string, path: string, body?: object) =>
    call(method, path, { as: owner, baseUrl, body });
  const id = (await api('POST', '/v1/orders', { type: 'presale', items: [{ sku, quantity: 1 }] })).body.order
    .id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, { paymentToken: 'tok_lost_unlisted' })).status).toBe(503);
  for (let i = 0; i < 450 && (await provider.paymentsOf(id)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100));

  // The cancel finds the charge the customer was told had failed: refused while it is settled.
  const refused = await api('POST', `/v1/orders/${id}/cancel`, { reason: 'changed my mind' });
  expect([refused.status, refused.body.detail]).toEqual([409, expect.stringMatching(/answer was lost/)]);
  await waitForOrder(id, owner, (o) => o.amounts.paid === 1000, 20_000, baseUrl);
  // Asked again, it is the cancel asked first: the deposit goes back, not kept as a presale's is.
  const cancelled = await api('POST', `/v1/orders/${id}/cancel`, { reason: 'changed my mind' });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: 1000, refunded: 1000 },
  });
  expect((await providerRefunds(id)).map((r) => r.amount)).toEqual([1000]);
  expect(await auditMoney(db, provider, [id])).toEqual([]);
}, 120_000);

test('a pay the API got no answer to, whose lost Update charged and is not listed when the order is cancelled: the order keeps looking, and refunds it once shown', async () => {
  const baseUrl = services.apiUrl;
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  const sku = uniqueSku('unu');
  await putProduct(sku, { price: 1200, stock: 4 }, baseUrl);
  const place = async () => {
    const owner = customer();
    const order = (
      await call('POST', '/v1/orders', { as: owner, baseUrl, body: { items: [{ sku, quantity: 1 }] } })
    ).body.order;
    return { owner, id: order.id as string, total: order.amounts.total as number, currency: order.currency };
  };
  const [told, untold] = [await place(), await place()];
  // What a lost pay Update leaves: a charge under the first attempt's key, its answer lost, not listed yet.
  for (const o of [told, untold])
    await provider
      .charge({
        idempotencyKey: chargeKey(o.id, 1),
        orderId: o.id,
        amount: o.total,
        currency: o.currency,
        token: 'tok_lost_unlisted',
      })
      .catch(() => undefined);
  const temporal = await testTemporal();
  try {
    // The API, its pay unanswered, tells the order (test/api/no-worker.test.ts shows it does).
    await temporal.client.workflow.getHandle(told.id).signal(payUnansweredSignal, { updateId: 'upd_lost' });
    for (const o of [told, untold])
      expect(
        (await call('POST', `/v1/orders/${o.id}/cancel`, { as: o.owner, baseUrl, body: {} })).status,
      ).toBe(200);
    const refunded = await waitForOrder(told.id, told.owner, (o) => o.amounts.refunded > 0, 90_000, baseUrl);
    expect(refunded).toMatchObject({
      status: 'CANCELLED',
      amounts: { paid: told.total, refunded: told.total },
    });
    expect(refunded.history.at(-1)).toMatchObject({ action: 'lost_payment_refunded', actor: 'system' });
    expect((await providerRefunds(told.id)).map((r) => r.amount)).toEqual([told.total]);
    expect(await auditMoney(db, provider, [told.id])).toEqual([]);
    // Without that word, an order that ends looks once, as before: no watch on every unpaid order.
    expect((await temporal.client.workflow.getHandle(untold.id).describe()).status.name).toBe('COMPLETED');
  } finally {
    await temporal.close();
  }
}, 150_000);

test('an exchange’s difference whose charge got no answer and is not listed yet is paid once: its key is kept for the next pay, and refunded if the exchange ended first', async () => {
  const baseUrl = services.apiUrl;
  const api = (method: string, path: string, as: ReturnType<typeof customer>, body?: object) =>
    call(method, path, { as, baseUrl, body: method === 'GET' ? undefined : (body ?? {}) });
  const [sku, dearer] = [uniqueSku('uxo'), uniqueSku('uxn')];
  await putProduct(sku, { price: 1000, stock: 5 }, baseUrl);
  await putProduct(dearer, { price: 1500, stock: 5 }, baseUrl);
  const owner = customer();
  const id = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 2 }] })).body.order
    .id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, baseUrl);
  const shipped = await api('POST', `/v1/orders/${id}/ship`, merchant, {
    carrier: 'UPS',
    trackingNumber: 'UX',
  });
  expect(shipped.status).toBe(200);
  const opened = await api('POST', `/v1/orders/${id}/exchanges`, owner, {
    returnItems: [{ sku, quantity: 1 }],
    newItems: [{ sku: dearer, quantity: 1 }],
    reason: 'the wrong size',
  });
  expect(opened.status).toBe(201);
  const exchange = opened.body.exchange;
  expect(exchange.difference).toBe(500);
  expect((await api('POST', `/v1/exchanges/${exchange.id}/approve`, merchant)).status).toBe(200);
  const pay = (paymentToken: string) =>
    api('POST', `/v1/exchanges/${exchange.id}/pay`, owner, { paymentToken });

  // Charged, every answer lost, and not listed: a 503.
  expect((await pay('tok_lost_unlisted')).status).toBe(503);
  expect((await providerPayments(exchange.id)).map((c) => c.status)).toEqual(['succeeded']);
  // Paid again at once, with another card: under the same key the provider charges nothing new,
  // and what it holds is not shown yet: a 503 again, not a second charge.
  expect((await pay('tok_ok')).status).toBe(503);
  expect(await providerPayments(exchange.id)).toHaveLength(1);
  // Once the provider lists it, the next pay is answered with that charge.
  let paid = await pay('tok_ok');
  for (let i = 0; i < 60 && paid.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    paid = await pay('tok_ok');
  }
  expect(paid.status).toBe(200);
  expect(paid.body.exchange.payment).toMatchObject({ status: 'succeeded', amount: 500 });
  expect((await providerPayments(exchange.id)).map((c) => [c.status, c.amount])).toEqual([
    ['succeeded', 500],
  ]);

  // Another exchange of the order's second unit: its charge lost and not shown, then the exchange
  // cancelled before it shows. Ended, it looks for the charge, and refunds it once it shows.
  const other = await api('POST', `/v1/orders/${id}/exchanges`, owner, {
    returnItems: [{ sku, quantity: 1 }],
    newItems: [{ sku: dearer, quantity: 1 }],
    reason: 'the wrong size',
  });
  expect(other.status).toBe(201);
  const second = other.body.exchange;
  expect((await api('POST', `/v1/exchanges/${second.id}/approve`, merchant)).status).toBe(200);
  const lost = await api('POST', `/v1/exchanges/${second.id}/pay`, owner, {
    paymentToken: 'tok_lost_unlisted',
  });
  expect(lost.status).toBe(503);
  const cancelled = await api('POST', `/v1/exchanges/${second.id}/cancel`, owner);
  expect([cancelled.status, cancelled.body.exchange?.status]).toEqual([200, 'CANCELLED']);
  let refunded = await providerRefunds(second.id);
  for (let i = 0; i < 90 && refunded.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    refunded = await providerRefunds(second.id);
  }
  expect(refunded.map((r) => r.amount)).toEqual([500]);
  expect((await providerPayments(second.id)).map((c) => c.status)).toEqual(['succeeded']);
}, 240_000);

test('an edit’s difference whose charge got no answer and is not listed yet is paid once: confirmed again under the kept key, or found by the open order and refunded', async () => {
  const baseUrl = services.apiUrl;
  const api = (method: string, path: string, as: ReturnType<typeof customer>, body?: object) =>
    call(method, path, { as, baseUrl, body: method === 'GET' ? undefined : (body ?? {}) });
  const provider = new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!);
  const sku = uniqueSku('ued');
  await putProduct(sku, { price: 1000, stock: 10 }, baseUrl);
  /** A paid order of one unit, and a preview adding one more (1000 owed). */
  const editedOrder = async () => {
    const owner = customer();
    const id = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 1 }] })).body.order
      .id as string;
    expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
    await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, baseUrl);
    const edit = (await api('POST', `/v1/orders/${id}/edits`, owner, { change: [{ sku, quantity: 2 }] })).body
      .edit;
    expect(edit.owed).toBe(1000);
    const confirm = (paymentToken: string) =>
      api('POST', `/v1/order-edits/${edit.id}/confirm`, owner, { paymentToken });
    return { id, owner, confirm };
  };
  const [again, alone, early, listed, other] = await Promise.all([
    editedOrder(),
    editedOrder(),
    editedOrder(),
    editedOrder(),
    editedOrder(),
  ]);
  const charges = async (id: string) => (await providerPayments(id)).map((c) => [c.status, c.amount]);

  // Charged, every answer lost, and not listed: a 503, the order as it was.
  const all = [again, alone, early, listed, other];
  expect((await Promise.all(all.map((o) => o.confirm('tok_lost_unlisted')))).map((r) => r.status)).toEqual([
    503, 503, 503, 503, 503,
  ]);
  for (const o of all) {
    expect(await charges(o.id)).toEqual([
      ['succeeded', 1000 + 800],
      ['succeeded', 1000],
    ]);
    expect((await api('GET', `/v1/orders/${o.id}`, o.owner)).body.order.items[0].quantity).toBe(1);
  }
  // One order is cancelled before the charge shows: its pay refunded, and, ended, it keeps looking
  // for the edit's charge and refunds that too once it shows. Another is cancelled just after the
  // provider lists the charge (before the order's own look): the cancel looks for it first, and
  // it is refunded once, not by the cancel's refund of all the provider lists and again.
  expect((await api('POST', `/v1/orders/${early.id}/cancel`, early.owner, { reason: 'no' })).status).toBe(
    200,
  );
  const listedCancelled = (async () => {
    for (let i = 0; i < 450 && (await provider.paymentsOf(listed.id)).length < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
    return api('POST', `/v1/orders/${listed.id}/cancel`, listed.owner, { reason: 'no' });
  })();
  // Another edit of one of them (three units, not two) is charged under a key of its own: the
  // kept key is the first edit's alone. The first edit's charge is refunded once it shows.
  const otherEdit = (
    await api('POST', `/v1/orders/${other.id}/edits`, other.owner, { change: [{ sku, quantity: 3 }] })
  ).body.edit;
  expect(
    (await api('POST', `/v1/order-edits/${otherEdit.id}/confirm`, other.owner, { paymentToken: 'tok_ok' }))
      .status,
  ).toBe(200);
  expect(await charges(other.id)).toEqual([
    ['succeeded', 1800],
    ['succeeded', 1000],
    ['succeeded', 2000],
  ]);
  // Confirmed again at once with another card: under the kept key the provider charges nothing
  // new, and what it holds is not shown yet: a 503 again, not a second charge.
  expect((await again.confirm('tok_ok')).status).toBe(503);
  expect(await providerPayments(again.id)).toHaveLength(2);
  // Once the provider lists it, the next confirm is paid by that charge: the edit applied, once.
  let confirmed = await again.confirm('tok_ok');
  for (let i = 0; i < 60 && confirmed.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    confirmed = await again.confirm('tok_ok');
  }
  expect([200, 202]).toContain(confirmed.status);
  const applied = await waitForOrder(
    again.id,
    again.owner,
    // The edit's lines are written before its transition (with what was paid): wait for the transition.
    (o) => o.items[0].quantity === 2 && o.history.some((h: { action: string }) => h.action === 'edit'),
    20_000,
    baseUrl,
  );
  expect(applied).toMatchObject({ status: 'IN_PRODUCTION', amounts: { paid: 2800, refunded: 0 } });
  expect(await charges(again.id)).toEqual([
    ['succeeded', 1800],
    ['succeeded', 1000],
  ]);

  // The other, left alone: the open order finds the charge once it shows, and refunds it (it paid
  // for an edit never applied). That changed the order: its preview is stale, and a new one,
  // confirmed, is charged anew under a new key (the refunded charge's is spent).
  const found = await waitForOrder(alone.id, alone.owner, (o) => o.amounts.refunded > 0, 90_000, baseUrl);
  expect(found).toMatchObject({
    status: 'IN_PRODUCTION',
    items: [{ quantity: 1 }],
    amounts: { paid: 2800, refunded: 1000 },
  });
  expect(found.history.at(-1)).toMatchObject({ action: 'lost_payment_refunded', actor: 'system' });
  expect((await providerRefunds(alone.id)).map((r) => r.amount)).toEqual([1000]);
  expect([(await alone.confirm('tok_ok')).status, (await alone.confirm('tok_ok')).body.code]).toEqual([
    409,
    'EDIT_STALE',
  ]);
  const fresh = (
    await api('POST', `/v1/orders/${alone.id}/edits`, alone.owner, { change: [{ sku, quantity: 2 }] })
  ).body.edit;
  expect(
    (await api('POST', `/v1/order-edits/${fresh.id}/confirm`, alone.owner, { paymentToken: 'tok_ok' }))
      .status,
  ).toBe(200);
  const reconfirmed = await waitForOrder(
    alone.id,
    alone.owner,
    // The edit's lines are written before its transition (with what was paid): wait for the transition.
    (o) => o.items[0].quantity === 2 && o.history.some((h: { action: string }) => h.action === 'edit'),
    20_000,
    baseUrl,
  );
  expect(reconfirmed.amounts).toMatchObject({ paid: 3800, refunded: 1000 });
  expect(await charges(alone.id)).toEqual([
    ['succeeded', 1800],
    ['succeeded', 1000],
    ['succeeded', 1000],
  ]);
  expect((await listedCancelled).status).toBe(200);
  const otherFound = await waitForOrder(
    other.id,
    other.owner,
    (o) => o.amounts.refunded > 0,
    90_000,
    baseUrl,
  );
  expect(otherFound).toMatchObject({ items: [{ quantity: 3 }], amounts: { paid: 4800, refunded: 1000 } });
  expect((await providerRefunds(other.id)).map((r) => r.amount)).toEqual([1000]);
  for (const o of [early, listed]) {
    const ended = await waitForOrder(o.id, o.owner, (x) => x.amounts.refunded === 2800, 90_000, baseUrl);
    expect(ended).toMatchObject({ status: 'CANCELLED', amounts: { paid: 2800 } });
    expect((await providerRefunds(o.id)).map((r) => r.amount).sort()).toEqual([1000, 1800]);
  }
  expect(
    await auditMoney(
      db,
      provider,
      all.map((o) => o.id),
    ),
  ).toEqual([]);
}, 240_000);
