/** Issue 7: cancel, refund, return and modification through the API, with the ledger rules checked after each. */
import { randomUUID } from 'node:crypto';
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
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
import { expectBooksBalance, providerRefunded, testDb, testTemporal } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;
beforeAll(async () => {
  // Long enough windows that returns can be made after confirmation.
  services = await startOwnServices('reverse', { AFTER_SALES_WINDOW: '10m' });
}, 90_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: As, body?: unknown, headers?: Record<string, string>) =>
  call(method, path, { as, body, headers, baseUrl: services.apiUrl });

async function expectLedgerRulesHold(orderId: string, skus: string[]) {
  expect(await auditMoney(db, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), [orderId])).toEqual(
    [],
  );
  await expectBooksBalance(db, skus);
}

/** Two lines, a 700 coupon allocated 280 / 420: line totals 1720 and 2580, shipping 800, total 5100. */
async function paidTwoLineOrder(state: 'IN_PRODUCTION' | 'SHIPPED' | 'CONFIRMED' = 'SHIPPED') {
  const [a, b] = [uniqueSku('ra'), uniqueSku('rb')];
  await putProduct(a, { price: 1000, stock: 10 }, services.apiUrl);
  await putProduct(b, { price: 3000, stock: 10 }, services.apiUrl);
  const coupon = `R-${randomUUID().slice(0, 8)}`;
  await api('PUT', `/v1/promotions/${coupon}`, merchant, { kind: 'fixed', value: 700 });
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, {
    items: [
      { sku: a, quantity: 2 },
      { sku: b, quantity: 1 },
    ],
    couponCode: coupon,
  });
  expect(created.body.order.items.map((i: any) => i.total)).toEqual([1720, 2580]);
  expect(created.body.order.amounts.total).toBe(5100);
  const id = created.body.order.id;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  if (state !== 'IN_PRODUCTION')
    expect(
      (await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'R1' })).status,
    ).toBe(200);
  if (state === 'CONFIRMED')
    expect((await api('POST', `/v1/orders/${id}/confirm`, owner, {})).status).toBe(200);
  return { id, owner, a, b };
}

const providerRefunds = providerRefunded;

test('a partial refund of one of two lines pays back exactly its allocated share; a retried request pays nothing more', async () => {
  const { id, owner, a, b } = await paidTwoLineOrder('SHIPPED');
  const key = { 'idempotency-key': randomUUID() };
  const first = await api(
    'POST',
    `/v1/orders/${id}/refunds`,
    merchant,
    { items: [{ sku: a, quantity: 1 }], reason: 'damaged' },
    key,
  );
  expect(first.status).toBe(201);
  // floor(1720 · 1/2) = 860 for one of the two units; no shipping on a partial refund.
  expect(first.body.refund).toMatchObject({
    orderId: id,
    amount: 860,
    shipping: 0,
    items: [{ sku: a, quantity: 1, amount: 860 }],
    reason: 'damaged',
  });

  const again = await api(
    'POST',
    `/v1/orders/${id}/refunds`,
    merchant,
    { items: [{ sku: a, quantity: 1 }], reason: 'damaged' },
    key,
  );
  expect(again.status).toBe(201);
  expect(again.body.refund).toEqual(first.body.refund);
  expect(await providerRefunds(id)).toBe(860);

  const order = (await api('GET', `/v1/orders/${id}`, owner)).body.order;
  expect(order.status).toBe('SHIPPED');
  expect(order.amounts).toMatchObject({ paid: 5100, refunded: 860 });
  expect(order.items.map((i: any) => i.refundedQuantity)).toEqual([1, 0]);
  expect(order.history.at(-1)).toMatchObject({
    from: 'SHIPPED',
    action: 'refund',
    to: 'SHIPPED',
    actor: 'merchant', // the owner sees the role; staff see `merchant:<id>`
  });
  expect((await api('GET', `/v1/orders/${id}`, merchant)).body.order.history.at(-1).actor).toBe(
    `merchant:${merchant.id}`,
  );

  // Refunding the whole of line b, then b again: nothing is left on it.
  expect(
    (
      await api('POST', `/v1/orders/${id}/refunds`, support, {
        items: [{ sku: b, quantity: 1 }],
        reason: 'x',
      })
    ).body.refund.amount,
  ).toBe(2580);
  const nothing = await api('POST', `/v1/orders/${id}/refunds`, support, {
    items: [{ sku: b, quantity: 1 }],
    reason: 'x',
  });
  expect(nothing.status).toBe(422);
  expect(nothing.body.code).toBe('NOTHING_TO_REFUND');
  const tooMany = await api('POST', `/v1/orders/${id}/refunds`, support, {
    items: [{ sku: a, quantity: 2 }],
    reason: 'x',
  });
  expect(tooMany.body).toMatchObject({ status: 422, code: 'AMOUNT_TOO_LARGE' });
  expect(await providerRefunds(id)).toBe(860 + 2580);

  // The rest: the last unit of a (1720 − 860) and the shipping; the order is REFUNDED.
  const rest = await api('POST', `/v1/orders/${id}/refunds`, merchant, { reason: 'goodwill' });
  expect(rest.body.refund).toMatchObject({ amount: 860 + 800, shipping: 800 });
  const refunded = (await api('GET', `/v1/orders/${id}`, owner)).body.order;
  expect(refunded).toMatchObject({ status: 'REFUNDED', amounts: { paid: 5100, refunded: 5100 } });
  const after = await api('POST', `/v1/orders/${id}/refunds`, merchant, { reason: 'again' });
  expect(after.status).toBe(409);
  expect(await providerRefunds(id)).toBe(5100);
  // Customers ask through returns; they may never refund (403, whatever the state).
  expect((await api('POST', `/v1/orders/${id}/refunds`, owner, { reason: 'x' })).status).toBe(403);
  await expectLedgerRulesHold(id, [a, b]);
}, 60_000);

test('a goodwill refund: an amount, no units, allocated to the lines by what each has left; the units later give back the rest, exactly', async () => {
  const { id, owner, a, b } = await paidTwoLineOrder('SHIPPED');
  // Staff only, an amount or units (not both), never more than the lines have left.
  expect(
    (await api('POST', `/v1/orders/${id}/refunds`, owner, { amount: 1000, reason: 'late' })).status,
  ).toBe(403);
  expect(
    (
      await api('POST', `/v1/orders/${id}/refunds`, merchant, {
        amount: 1,
        items: [{ sku: a, quantity: 1 }],
        reason: 'x',
      })
    ).status,
  ).toBe(400);
  const tooMuch = await api('POST', `/v1/orders/${id}/refunds`, merchant, { amount: 4301, reason: 'late' });
  expect(tooMuch.body).toMatchObject({ status: 422, code: 'AMOUNT_TOO_LARGE', refundable: 4300 });

  const goodwill = await api('POST', `/v1/orders/${id}/refunds`, support, {
    amount: 1000,
    reason: 'late parcel',
  });
  expect(goodwill.status).toBe(201);
  // 1720 and 2580 left: 400 and 600.
  expect(goodwill.body.refund).toMatchObject({
    amount: 1000,
    shipping: 0,
    items: [
      { sku: a, quantity: 0, amount: 400 },
      { sku: b, quantity: 0, amount: 600 },
    ],
  });
  const order = (await api('GET', `/v1/orders/${id}`, merchant)).body.order;
  expect(order.status).toBe('SHIPPED');
  expect(order.amounts).toMatchObject({ paid: 5100, refunded: 1000 });
  expect(order.items.map((i: any) => [i.refundedQuantity, i.refundedAmount])).toEqual([
    [0, 400],
    [0, 600],
  ]);
  expect(await providerRefunds(id)).toBe(1000);

  // Everything else: the units share what is left of their lines, with the shipping.
  const rest = await api('POST', `/v1/orders/${id}/refunds`, merchant, { reason: 'all of it' });
  expect(rest.status).toBe(201);
  expect(rest.body.refund).toMatchObject({
    amount: 1320 + 1980 + 800,
    items: [
      { sku: a, quantity: 2, amount: 1320 },
      { sku: b, quantity: 1, amount: 1980 },
    ],
  });
  const done = await waitForOrder(id, owner, (o) => o.status === 'REFUNDED', 20_000, services.apiUrl);
  expect(done.amounts).toMatchObject({ paid: 5100, refunded: 5100 });
  expect(await providerRefunds(id)).toBe(5100);
  await expectLedgerRulesHold(id, [a, b]);
});

test('a return: requested, approved, received (stock back), refunded; its own workflow and resource', async () => {
  const { id, owner, a, b } = await paidTwoLineOrder('CONFIRMED');
  const stockBefore = (await api('GET', `/v1/products/${a}`, merchant)).body.stock.onHand;
  const requested = await api('POST', `/v1/orders/${id}/returns`, owner, {
    items: [{ sku: a, quantity: 2 }],
    reason: 'too small',
  });
  expect(requested.status).toBe(201);
  const ret = requested.body.return;
  expect(ret).toMatchObject({
    orderId: id,
    status: 'REQUESTED',
    statusLabel: 'Return requested',
    items: [{ sku: a, quantity: 2 }],
  });
  // The returned units are held: they can be neither returned twice nor refunded meanwhile.
  expect(
    (await api('POST', `/v1/orders/${id}/returns`, owner, { items: [{ sku: a, quantity: 1 }], reason: 'x' }))
      .body.code,
  ).toBe('NOTHING_TO_REFUND');
  expect((await api('POST', `/v1/returns/${ret.id}/approve`, owner, {})).status).toBe(403);
  expect((await api('POST', `/v1/returns/${ret.id}/receive`, merchant, {})).status).toBe(409);
  expect((await api('GET', `/v1/returns/${ret.id}`, customer())).status).toBe(404);

  // Keyed, as a client retrying through an outage would: the copy gets the first answer, not a 409.
  const key = { 'idempotency-key': `approve-${ret.id}` };
  const approved = await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {}, key);
  expect(approved.body.return.status).toBe('APPROVED');
  const again = await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {}, key);
  expect(again.status).toBe(200);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.body).toEqual(approved.body);
  expect((await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {})).status).toBe(409);
  expect((await api('POST', `/v1/returns/${ret.id}/receive`, merchant, {})).body.return.status).toBe(
    'RECEIVED',
  );
  expect((await api('GET', `/v1/products/${a}`, merchant)).body.stock.onHand).toBe(stockBefore + 2);

  const deadline = Date.now() + 20_000;
  let record: any;
  while (Date.now() < deadline) {
    record = (await api('GET', `/v1/returns/${ret.id}`, owner)).body.return;
    if (record.status === 'REFUNDED') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(record).toMatchObject({ status: 'REFUNDED', refundedAmount: 1720 });
  expect(record.history.map((h: any) => h.action)).toEqual(['request', 'approve', 'receive', 'refund']);
  const order = (await api('GET', `/v1/orders/${id}`, owner)).body.order;
  expect(order).toMatchObject({ status: 'CONFIRMED', amounts: { refunded: 1720 } });
  expect(order.items.map((i: any) => i.refundedQuantity)).toEqual([2, 0]);
  expect(order.history.map((h: any) => h.action).slice(-2)).toEqual(['request_return', 'return_refund']);
  expect(await providerRefunds(id)).toBe(1720);

  // Visible on its own in Temporal, as a child of the order.
  const temporal = await testTemporal();
  try {
    const description = await temporal.client.workflow.getHandle(ret.id).describe();
    expect(description.type).toBe('returnOrderFlow');
    expect(description.status.name).toBe('COMPLETED');
    expect((await temporal.client.workflow.getHandle(`${id}-refund-${ret.id}`).describe()).status.name).toBe(
      'COMPLETED',
    );
  } finally {
    await temporal.close();
  }
  await expectLedgerRulesHold(id, [a, b]);
}, 60_000);

test('a return naming a SKU on two lines puts all of its units back in stock', async () => {
  const { id, owner, a, b } = await paidTwoLineOrder('CONFIRMED');
  const stockBefore = (await api('GET', `/v1/products/${a}`, merchant)).body.stock.onHand;
  const requested = await api('POST', `/v1/orders/${id}/returns`, owner, {
    items: [
      { sku: a, quantity: 1 },
      { sku: a, quantity: 1 },
    ],
    reason: 'both too small',
  });
  expect(requested.status).toBe(201);
  expect(requested.body.return.items).toEqual([{ sku: a, quantity: 2 }]);
  const ret = requested.body.return;
  expect((await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {})).status).toBe(200);
  expect((await api('POST', `/v1/returns/${ret.id}/receive`, merchant, {})).status).toBe(200);
  expect((await api('GET', `/v1/products/${a}`, merchant)).body.stock.onHand).toBe(stockBefore + 2);
  await waitForOrder(id, owner, (o) => o.amounts.refunded === 1720, 20_000, services.apiUrl);
  await expectLedgerRulesHold(id, [a, b]);
}, 60_000);

test('a rejected return frees its units, which can then be returned again', async () => {
  const { id, owner, a } = await paidTwoLineOrder('SHIPPED');
  const first = (
    await api('POST', `/v1/orders/${id}/returns`, owner, { items: [{ sku: a, quantity: 1 }], reason: 'meh' })
  ).body.return;
  const rejected = await api('POST', `/v1/returns/${first.id}/reject`, merchant, { reason: 'used' });
  expect(rejected.body.return).toMatchObject({ status: 'REJECTED' });
  expect(rejected.body.return.history.at(-1)).toMatchObject({ action: 'reject', reason: 'used' });
  const deadline = Date.now() + 10_000;
  let again: any;
  do {
    again = await api('POST', `/v1/orders/${id}/returns`, owner, {
      items: [{ sku: a, quantity: 2 }],
      reason: 'really',
    });
    if (again.status === 201) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  expect(again.status).toBe(201);
  expect((await api('POST', `/v1/returns/${first.id}/approve`, merchant, {})).status).toBe(409);
});

test('cancel: before payment releases stock and coupon; after payment refunds everything; after shipping is refused', async () => {
  const sku = uniqueSku('cx');
  await putProduct(sku, { price: 2000, stock: 5 }, services.apiUrl);
  const owner = customer();
  const unpaid = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 2 }] })).body.order;
  expect(
    (await api('POST', `/v1/orders/${unpaid.id}/cancel`, owner, { reason: 'changed my mind' })).body.order,
  ).toMatchObject({ status: 'CANCELLED' });

  const paid = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 2 }] })).body.order;
  await api('POST', `/v1/orders/${paid.id}/pay`, owner, { paymentToken: 'tok_ok' });
  await waitForOrder(paid.id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  const cancelled = await api('POST', `/v1/orders/${paid.id}/cancel`, owner, { reason: 'too slow' });
  expect(cancelled.body.order).toMatchObject({
    status: 'CANCELLED',
    amounts: { paid: 4800, refunded: 4800 },
  });
  expect(await providerRefunds(paid.id)).toBe(4800);
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock).toMatchObject({
    onHand: 5,
    reserved: 0,
    available: 5,
  });

  const shipped = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 1 }] })).body.order;
  await api('POST', `/v1/orders/${shipped.id}/pay`, owner, { paymentToken: 'tok_ok' });
  await waitForOrder(shipped.id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  await api('POST', `/v1/orders/${shipped.id}/ship`, merchant, { carrier: 'x', trackingNumber: 'y' });
  expect((await api('POST', `/v1/orders/${shipped.id}/cancel`, owner, {})).status).toBe(409);
  for (const o of [unpaid, paid, shipped]) await expectLedgerRulesHold(o.id, [sku]);
}, 60_000);

test('modification: fewer items before payment (repriced, stock released), the address until shipped', async () => {
  const sku = uniqueSku('mod');
  await putProduct(sku, { price: 3000, stock: 10 }, services.apiUrl);
  const owner = customer();
  const order = (await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 4 }] })).body.order;
  expect(order.amounts).toMatchObject({ subtotal: 12000, shipping: 0, total: 12000 });

  const fewer = await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 2 }] });
  expect(fewer.status).toBe(200);
  expect(fewer.body.order.amounts).toMatchObject({ subtotal: 6000, shipping: 800, total: 6800 });
  expect(fewer.body.order.items[0]).toMatchObject({ quantity: 2, total: 6000 });
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock).toMatchObject({ reserved: 2 });
  expect(
    (await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 3 }] })).body.code,
  ).toBe('MODIFICATION_NOT_ALLOWED');
  // Removing every line is a refusal from the repricing two layers down (the child's activity),
  // answered as the business rule it is (the fuzzer found it answered as a 503).
  const none = await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 0 }] });
  expect(none.status).toBe(422);
  expect(none.body.code).toBe('AMOUNT_TOO_LARGE');
  expect((await api('GET', `/v1/orders/${order.id}`, owner)).body.order.items[0].quantity).toBe(2);

  await api('POST', `/v1/orders/${order.id}/pay`, owner, { paymentToken: 'tok_ok' });
  await waitForOrder(order.id, owner, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  const address = { name: 'Ada', line1: '1 Loop Rd', city: 'Lisbon', postalCode: '1000', country: 'PT' };
  const moved = await api('PATCH', `/v1/orders/${order.id}`, owner, { shippingAddress: address });
  expect(moved.body.order.shippingAddress).toEqual(address);
  expect(
    (await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 1 }] })).status,
  ).toBe(409);
  await api('POST', `/v1/orders/${order.id}/ship`, merchant, { carrier: 'x', trackingNumber: 'y' });
  expect((await api('PATCH', `/v1/orders/${order.id}`, owner, { shippingAddress: address })).status).toBe(
    409,
  );
  const final = (await api('GET', `/v1/orders/${order.id}`, owner)).body.order;
  expect(final.amounts).toMatchObject({ total: 6800, paid: 6800 });
  await expectLedgerRulesHold(order.id, [sku]);
}, 60_000);

test("a presale modified after the catalogue's deposit changed keeps to the deposit the customer committed to", async () => {
  const sku = uniqueSku('pdep');
  const hour = 3_600_000;
  const product = (depositPerUnit: number) => ({
    price: 4000,
    stock: 10,
    presale: {
      depositPerUnit,
      balanceStartsAt: new Date(Date.now() + hour).toISOString(),
      balanceEndsAt: new Date(Date.now() + 2 * hour).toISOString(),
    },
  });
  await putProduct(sku, product(1000), services.apiUrl);
  const owner = customer();
  const order = (await api('POST', '/v1/orders', owner, { type: 'presale', items: [{ sku, quantity: 2 }] }))
    .body.order;
  expect(order.presale).toMatchObject({ deposit: 2000, depositPerUnit: { [sku]: 1000 } });
  expect((await api('POST', `/v1/orders/${order.id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(
    200,
  );
  // The merchant lowers the deposit for new orders; this one's stays 1000 a unit.
  await putProduct(sku, product(100), services.apiUrl);
  const same = await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 2 }] });
  expect(same.body.order).toMatchObject({ presale: { deposit: 2000 }, amounts: { paid: 2000, refunded: 0 } });
  const fewer = await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 1 }] });
  expect(fewer.status).toBe(200);
  expect(fewer.body.order).toMatchObject({
    presale: { deposit: 1000 },
    amounts: { paid: 2000, refunded: 1000 },
  });
  expect(await providerRefunds(order.id)).toBe(1000);
}, 60_000);

test('modifying a presale after its deposit: fewer items, the overpaid deposit refunded, in its own workflow', async () => {
  const sku = uniqueSku('pmod');
  const hour = 3_600_000;
  await putProduct(
    sku,
    {
      price: 4000,
      stock: 10,
      presale: {
        depositPerUnit: 500,
        balanceStartsAt: new Date(Date.now() + hour).toISOString(),
        balanceEndsAt: new Date(Date.now() + 2 * hour).toISOString(),
      },
    },
    services.apiUrl,
  );
  const owner = customer();
  const order = (await api('POST', '/v1/orders', owner, { type: 'presale', items: [{ sku, quantity: 3 }] }))
    .body.order;
  expect(
    (await api('POST', `/v1/orders/${order.id}/pay`, owner, { paymentToken: 'tok_ok' })).body.order,
  ).toMatchObject({
    status: 'DEPOSIT_PAID',
    amounts: { paid: 1500 },
  });
  const fewer = await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 2 }] });
  expect(fewer.status).toBe(200);
  expect(fewer.body.order).toMatchObject({
    presale: { deposit: 1000 },
    amounts: { paid: 1500, refunded: 500 },
  });
  // A second modification refunds what the deposit now exceeds, not the first's refund again.
  const modified = await api('PATCH', `/v1/orders/${order.id}`, owner, { items: [{ sku, quantity: 1 }] });
  expect(modified.status).toBe(200);
  expect(modified.body.order).toMatchObject({
    status: 'DEPOSIT_PAID',
    presale: { deposit: 500 },
    amounts: { subtotal: 4000, paid: 1500, refunded: 1000 },
  });
  expect(await providerRefunds(order.id)).toBe(1000);
  // Each recorded as a refund, with its event, as every other refund is.
  const listed = await api('GET', `/v1/refunds?orderId=${order.id}&source=modify`, merchant);
  expect(listed.body.items.map((r: { amount: number; reason: string }) => [r.amount, r.reason])).toEqual([
    [500, 'order modified'],
    [500, 'order modified'],
  ]);
  const events = (await api('GET', `/v1/orders/${order.id}/events`, merchant)).body.items as {
    type: string;
  }[];
  expect(events.filter((e) => e.type === 'refund.succeeded')).toHaveLength(2);
  expect((await api('GET', `/v1/products/${sku}`, merchant)).body.stock).toMatchObject({ reserved: 1 });
  const temporal = await testTemporal();
  try {
    const child = temporal.client.workflow.getHandle(`${order.id}-modify3`);
    expect((await child.describe()).type).toBe('modifyOrderFlow');
  } finally {
    await temporal.close();
  }
  await expectLedgerRulesHold(order.id, [sku]);
  // Another order's first modification (its tag the same within its own order) is its own refund.
  const next = (await api('POST', '/v1/orders', owner, { type: 'presale', items: [{ sku, quantity: 2 }] }))
    .body.order;
  expect((await api('POST', `/v1/orders/${next.id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(
    200,
  );
  expect((await api('PATCH', `/v1/orders/${next.id}`, owner, { items: [{ sku, quantity: 1 }] })).status).toBe(
    200,
  );
  const nextListed = await api('GET', `/v1/refunds?orderId=${next.id}&source=modify`, merchant);
  expect(nextListed.body.items.map((r: { amount: number }) => r.amount)).toEqual([500]);
}, 60_000);
