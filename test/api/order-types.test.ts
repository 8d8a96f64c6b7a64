/** Issue 3: `virtual` and `presale` orders end to end through HTTP, with their money and stock rules. */
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { checkInvariants } from '../../audit/invariants';
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { providerPayments, providerRefunds, testDb, testTemporal } from '../support/backends';

const db = testDb();
afterAll(() => db.destroy());

const presaleProduct = async (opensInMs: number, closesInMs: number, stock = 10) => {
  const sku = uniqueSku('pre');
  await putProduct(sku, {
    price: 4000,
    stock,
    presale: {
      depositPerUnit: 1000,
      balanceStartsAt: new Date(Date.now() + opensInMs).toISOString(),
      balanceEndsAt: new Date(Date.now() + closesInMs).toISOString(),
    },
  });
  return sku;
};

test('a virtual order is delivered as a code on payment, ships nothing, and completes after its own window', async () => {
  const sku = uniqueSku('gift');
  await putProduct(sku, { kind: 'virtual', price: 2500, stock: 100 });
  const dana = customer();
  const created = await call('POST', '/v1/orders', {
    as: dana,
    body: { type: 'virtual', items: [{ sku, quantity: 2 }] },
  });
  expect(created.status).toBe(201);
  expect(created.body.order.amounts).toMatchObject({ subtotal: 5000, shipping: 0, total: 5000 });
  const id = created.body.order.id;

  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: dana, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  const delivered = await waitForOrder(id, dana, (o) => o.status === 'DELIVERED');
  expect(delivered.delivery.code).toMatch(/^[0-9A-F]{16}$/);
  expect(delivered.statusLabel).toBe('Code delivered');
  expect(
    (
      await call('POST', `/v1/orders/${id}/ship`, {
        as: merchant,
        body: { carrier: 'x', trackingNumber: 'y' },
      })
    ).status,
  ).toBe(403);

  // VIRTUAL_AFTER_SALES_WINDOW is 3s in the test stack.
  const done = await waitForOrder(id, dana, (o) => o.status === 'COMPLETED', 15_000);
  expect(done.history.map((h: any) => h.action)).toEqual(['place', 'pay', 'deliver', 'complete']);
  expect(done.delivery.code).toBe(delivered.delivery.code);
  const job = await db('production_jobs').where({ order_id: id }).first();
  expect(job).toMatchObject({ kind: 'digital_code', delivery_code: delivered.delivery.code });
});

/** The sandbox code vendor refuses (or issues again) the codes of this order. */
const vendorRefuses = (orderId: string, refuse: boolean) =>
  fetch(`${process.env.WAREHOUSE_URL}/v1/sandbox/codes/${orderId}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refuse }),
  });

/** A paid virtual order whose code the vendor refused: flagged for support, still PAID. */
async function refusedVirtualOrder() {
  const sku = uniqueSku('gift');
  await putProduct(sku, { kind: 'virtual', price: 1500, stock: 100 });
  const owner = customer();
  // A caller's request id never marks an order as seeded (left out of the audits below).
  const created = await call('POST', '/v1/orders', {
    as: owner,
    body: { type: 'virtual', items: [{ sku, quantity: 1 }] },
    headers: { 'x-request-id': 'seed' },
  });
  const id = created.body.order.id as string;
  await vendorRefuses(id, true);
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  const refused = await waitForOrder(id, merchant, (o) =>
    o.history.some((h: { action: string }) => h.action === 'deliver_failed'),
  );
  expect(refused).toMatchObject({
    status: 'PAID',
    attention: { code: 'fulfilment_refused', detail: 'code_vendor' },
  });
  return { id, owner, sku };
}

test('a code the vendor refuses leaves the order paid and flagged, and is asked for again until it comes', async () => {
  const { id, owner, sku } = await refusedVirtualOrder();
  // The customer sees that delivery failed (its history), not support's flag.
  const theirs = (await call('GET', `/v1/orders/${id}`, { as: owner })).body.order;
  expect(theirs).not.toHaveProperty('attention');
  expect(theirs.history.map((h: { action: string }) => h.action)).toContain('deliver_failed');
  // CODE_VENDOR_RETRY is 2s in the test stack: refused twice more, said once.
  await new Promise((r) => setTimeout(r, 5000));
  // The invariant checker knows it waits (PAID, flagged), not stuck.
  const temporal = await testTemporal();
  try {
    const report = await checkInvariants(
      db,
      temporal.client,
      new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!),
      { orderIds: [id], skus: [sku], coupons: [] },
    );
    expect(report.violations).toEqual([]);
    expect(report.orders).toBe(1);
  } finally {
    await temporal.close();
  }
  await vendorRefuses(id, false);
  const delivered = await waitForOrder(id, owner, (o) => o.status === 'DELIVERED', 20_000);
  expect(delivered.delivery.code).toMatch(/^[0-9A-F]{16}$/);
  expect((await call('GET', `/v1/orders/${id}`, { as: merchant })).body.order.attention ?? null).toBeNull();
  const actions = delivered.history.map((h: { action: string }) => h.action);
  expect(actions).toEqual(['place', 'pay', 'deliver_failed', 'deliver']);
});

test('an order whose code the vendor refuses can be cancelled by staff meanwhile: refunded, no code', async () => {
  const { id } = await refusedVirtualOrder();
  const cancelled = await call('POST', `/v1/orders/${id}/cancel`, {
    as: merchant,
    body: { reason: 'no codes' },
  });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: 1500, refunded: 1500 },
  });
  expect(cancelled.body.order.attention ?? null).toBeNull();
  expect(await db('production_jobs').where({ order_id: id }).first()).toBeUndefined();
  await vendorRefuses(id, false);
});

test('a virtual order refuses physical products, a standard one virtual products', async () => {
  const physical = uniqueSku('box');
  await putProduct(physical, { kind: 'physical' });
  const reply = await call('POST', '/v1/orders', {
    as: customer(),
    body: { type: 'virtual', items: [{ sku: physical, quantity: 1 }] },
  });
  expect(reply.status).toBe(422);
  expect(reply.body).toMatchObject({ code: 'WRONG_PRODUCT_KIND', skus: [physical] });
});

test('a presale order: deposit now, balance when the window opens, then fulfilment to COMPLETED', async () => {
  // The balance window opens 8 s on: the deposit and the refused early balance land before it
  // even when other tests load the machine.
  const sku = await presaleProduct(8000, 3_600_000);
  const erin = customer();
  const created = await call('POST', '/v1/orders', {
    as: erin,
    body: { type: 'presale', items: [{ sku, quantity: 2 }] },
  });
  expect(created.status).toBe(201);
  const id = created.body.order.id;
  expect(created.body.order).toMatchObject({
    status: 'PENDING_DEPOSIT',
    amounts: { subtotal: 8000, shipping: 800, total: 8800 },
    presale: { deposit: 2000 },
  });

  const deposit = await call('POST', `/v1/orders/${id}/pay`, { as: erin, body: { paymentToken: 'tok_ok' } });
  expect(deposit.body.order).toMatchObject({ status: 'DEPOSIT_PAID', amounts: { paid: 2000 } });
  // The balance is not payable before its window opens.
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: erin, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(409);

  const open = await waitForOrder(id, erin, (o) => o.status === 'PENDING_BALANCE', 25_000);
  expect(open.paymentDeadline).toBe(open.presale.balanceEndsAt);
  const balance = await call('POST', `/v1/orders/${id}/pay`, { as: erin, body: { paymentToken: 'tok_ok' } });
  expect(balance.body.order).toMatchObject({ status: 'PAID', amounts: { paid: 8800 } });

  await waitForOrder(id, merchant, (o) => o.status === 'IN_PRODUCTION');
  await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'SF', trackingNumber: 'SF1' },
  });
  await call('POST', `/v1/orders/${id}/confirm`, { as: erin, body: {} });
  const done = await waitForOrder(id, erin, (o) => o.status === 'COMPLETED', 20_000);
  expect(done.history.map((h: any) => h.action)).toEqual([
    'place',
    'pay',
    'open_balance',
    'pay',
    'start_production',
    'ship',
    'confirm',
    'complete',
  ]);
  const charges = (await providerPayments(id)).filter((p) => p.status === 'succeeded').map((p) => p.amount);
  expect(charges).toEqual([2000, 6800]);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 8,
    reserved: 0,
    available: 8,
  });
});

test('an unpaid presale balance cancels the order, keeps the deposit and frees the stock', async () => {
  // The window closes 8 s on: the deposit lands before it even on a loaded machine.
  const sku = await presaleProduct(-60_000, 8000, 5);
  const finn = customer();
  const { body } = await call('POST', '/v1/orders', {
    as: finn,
    body: { type: 'presale', items: [{ sku, quantity: 1 }] },
  });
  const id = body.order.id;
  await call('POST', `/v1/orders/${id}/pay`, { as: finn, body: { paymentToken: 'tok_ok' } });
  const cancelled = await waitForOrder(id, finn, (o) => o.status === 'CANCELLED', 30_000);
  expect(cancelled.history.at(-1)).toMatchObject({
    from: 'PENDING_BALANCE',
    action: 'expire',
    reason: 'balance_unpaid',
  });
  expect(cancelled.amounts).toMatchObject({ paid: 1000, refunded: 0 });
  expect(await providerRefunds(id)).toHaveLength(0);
  // The money audit knows the rule: the deposit kept on expiry is no breach; had staff cancelled
  // (the history rewritten so), keeping it would be.
  const provider = new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!);
  expect(await auditMoney(db, provider, [id])).toEqual([]);
  await db('order_history').where({ order_id: id, to: 'CANCELLED' }).update({
    action: 'cancel',
    actor: 'merchant:merchant-1',
  });
  expect(await auditMoney(db, provider, [id])).toEqual([
    expect.objectContaining({ rule: 'no money kept on a cancelled order' }),
  ]);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 5,
    reserved: 0,
    available: 5,
  });
});

test('a presale deposit is due by the end of the balance window: left unpaid, the order expires then', async () => {
  const sku = await presaleProduct(-60_000, 6000, 5);
  const gus = customer();
  const { body } = await call('POST', '/v1/orders', {
    as: gus,
    body: { type: 'presale', items: [{ sku, quantity: 1 }] },
  });
  // Not the payment timeout (30 min in the test stack): a deposit later than this buys nothing.
  expect(body.order.paymentDeadline).toBe(body.order.presale.balanceEndsAt);
  const expired = await waitForOrder(body.order.id, gus, (o) => o.status === 'CANCELLED', 30_000);
  expect(expired.history.at(-1)).toMatchObject({ from: 'PENDING_DEPOSIT', action: 'expire' });
  expect(expired.amounts).toMatchObject({ paid: 0 });
  const late = await call('POST', `/v1/orders/${body.order.id}/pay`, {
    as: gus,
    body: { paymentToken: 'tok_ok' },
  });
  expect(late.status).toBe(409);
  expect(await providerPayments(body.order.id)).toHaveLength(0);
});

test('a merchant cancelling a presale after the deposit refunds it; a customer cancelling forfeits it', async () => {
  const sku = await presaleProduct(3_600_000, 7_200_000);
  const orders = await Promise.all(
    ['merchant', 'customer'].map(async (by) => {
      const owner = customer();
      const { body } = await call('POST', '/v1/orders', {
        as: owner,
        body: { type: 'presale', items: [{ sku, quantity: 1 }] },
      });
      await call('POST', `/v1/orders/${body.order.id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
      const reply = await call('POST', `/v1/orders/${body.order.id}/cancel`, {
        as: by === 'merchant' ? merchant : owner,
        body: { reason: 'test' },
      });
      expect(reply.status).toBe(200);
      return reply.body.order;
    }),
  );
  expect(orders[0]).toMatchObject({ status: 'CANCELLED', amounts: { paid: 1000, refunded: 1000 } });
  expect(orders[1]).toMatchObject({ status: 'CANCELLED', amounts: { paid: 1000, refunded: 0 } });
  expect((await providerRefunds(orders[0].id)).map((r) => r.amount)).toEqual([1000]);
});

test('a presale takes a deposit: a product asking none is refused, and so is an order with nothing to deposit', async () => {
  const window = {
    balanceStartsAt: new Date(Date.now() + 60_000).toISOString(),
    balanceEndsAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
  const sku = uniqueSku('pre0');
  const none = await call('PUT', `/v1/products/${sku}`, {
    as: merchant,
    body: {
      name: sku,
      price: 4000,
      currency: 'USD',
      kind: 'physical',
      stock: 5,
      presale: { depositPerUnit: 0, ...window },
    },
  });
  expect(none.status).toBe(400);
  // One stored before this rule: its order is refused before anything is held.
  const stored = await presaleProduct(60_000, 3_600_000, 5);
  await db('products')
    .where({ sku: stored })
    .update({ presale: db.raw(`jsonb_set(presale, '{depositPerUnit}', '0')`) });
  const refused = await call('POST', '/v1/orders', {
    as: customer(),
    body: { type: 'presale', items: [{ sku: stored, quantity: 1 }] },
  });
  expect(refused.body).toMatchObject({ status: 422, code: 'PRESALE_DEPOSIT' });
  expect((await call('GET', `/v1/products/${stored}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 5,
    reserved: 0,
  });
});
