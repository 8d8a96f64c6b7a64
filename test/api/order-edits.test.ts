/**
 * Issue 21, item 3: order edits until the goods leave. A preview (nothing moves) of lines added,
 * removed, changed or swapped, priced exactly; confirming applies it: stock held for what it adds,
 * given back for what it drops, the difference charged (402 declined, nothing changed) or refunded;
 * a preview confirmed after the order changed is a 409 EDIT_STALE. Against the real stack, with
 * the provider's own books and the ledger checked.
 */
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder, type As } from '../support/api';
import { expectBooksBalance, providerPayments, providerRefunded, testDb } from '../support/backends';
import { stockLevel } from '../support/after-sales';

const db = testDb();
afterAll(() => db.destroy());

const level = (sku: string) => stockLevel(db, sku);
const audit = (orderId: string) =>
  auditMoney(db, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), [orderId]);

/** An order of 2 units of a product at 1000 (shipping 800), paid or not, and a second product at 1500. */
async function anOrder(paid: boolean) {
  const [a, b] = [uniqueSku('eda'), uniqueSku('edb')];
  await putProduct(a, { price: 1000, stock: 10 });
  await putProduct(b, { price: 1500, stock: 10 });
  const owner = customer();
  const created = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku: a, quantity: 2 }] } });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  if (paid) {
    expect(
      (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
    ).toBe(200);
    await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  }
  return { id, owner, a, b };
}

const preview = (id: string, as: As, body: object) => call('POST', `/v1/orders/${id}/edits`, { as, body });
const confirm = (editId: string, as: As, body: object = {}) =>
  call('POST', `/v1/order-edits/${editId}/confirm`, { as, body });
const orderOf = async (id: string, as: As) => (await call('GET', `/v1/orders/${id}`, { as })).body.order;

test('unpaid: a preview moves nothing; confirmed, the lines, the price and the held stock change; then it pays the new total', async () => {
  const o = await anOrder(false);
  const before = await orderOf(o.id, o.owner);
  const previewed = await preview(o.id, o.owner, {
    change: [{ sku: o.a, quantity: 1 }],
    add: [{ sku: o.b, quantity: 1 }],
  });
  expect(previewed.status).toBe(201);
  const edit = previewed.body.edit;
  expect(previewed.headers.get('location')).toBe(`/v1/order-edits/${edit.id}`);
  expect(edit).toMatchObject({
    status: 'PREVIEW',
    before: { amounts: { subtotal: 2000, total: 2800 } },
    after: {
      items: [
        { sku: o.a, quantity: 1, unitPrice: 1000, total: 1000 },
        { sku: o.b, quantity: 1, unitPrice: 1500, total: 1500 },
      ],
      amounts: { subtotal: 2500, shipping: 800, total: 3300 },
    },
    difference: 500,
    owed: 0,
    refund: 0,
  });
  // A preview: nothing held, nothing changed.
  expect(await level(o.b)).toEqual({ onHand: 10, reserved: 0 });
  expect(await orderOf(o.id, o.owner)).toEqual(before);

  const confirmed = await confirm(edit.id, o.owner);
  expect(confirmed.status).toBe(200);
  expect(confirmed.body.edit.status).toBe('CONFIRMED');
  expect(confirmed.body.order).toMatchObject({
    status: 'PENDING_PAYMENT',
    amounts: { total: 3300, paid: 0 },
  });
  expect(
    confirmed.body.order.items.map((l: { sku: string; quantity: number }) => [l.sku, l.quantity]),
  ).toEqual([
    [o.a, 1],
    [o.b, 1],
  ]);
  expect(await level(o.a)).toEqual({ onHand: 10, reserved: 1 });
  expect(await level(o.b)).toEqual({ onHand: 10, reserved: 1 });
  // Confirming again is the same edit, applied once.
  expect((await confirm(edit.id, o.owner)).body.order.amounts.total).toBe(3300);
  const events = (await call('GET', `/v1/orders/${o.id}/events?limit=100`, { as: merchant })).body.items.map(
    (e: { type: string }) => e.type,
  );
  expect(events.filter((t: string) => t === 'order.edited')).toHaveLength(1);

  const paid = await call('POST', `/v1/orders/${o.id}/pay`, {
    as: o.owner,
    body: { paymentToken: 'tok_ok' },
  });
  expect(paid.status).toBe(200);
  expect(paid.body.order.amounts).toMatchObject({ paid: 3300, total: 3300 });
  expect(await expectBooksBalance(db, [o.a, o.b])).toHaveLength(2);
});

test('paid: what an edit adds is charged (a token is needed; declined is a 402 that changes nothing), then sold', async () => {
  const o = await anOrder(true);
  const edit = (await preview(o.id, o.owner, { add: [{ sku: o.b, quantity: 1 }] })).body.edit;
  expect(edit).toMatchObject({ difference: 1500, owed: 1500, refund: 0 });
  const noToken = await confirm(edit.id, o.owner);
  expect(noToken.status).toBe(422);
  expect(noToken.body.code).toBe('PAYMENT_TOKEN_REQUIRED');
  const declined = await confirm(edit.id, o.owner, { paymentToken: 'tok_declined' });
  expect(declined.status).toBe(402);
  expect(await level(o.b)).toEqual({ onHand: 10, reserved: 0 });
  expect((await call('GET', `/v1/order-edits/${edit.id}`, { as: o.owner })).body.edit.status).toBe('PREVIEW');
  expect((await orderOf(o.id, o.owner)).amounts.total).toBe(2800);

  const done = await confirm(edit.id, o.owner, { paymentToken: 'tok_ok' });
  expect(done.status).toBe(200);
  expect(done.body.order).toMatchObject({ status: 'IN_PRODUCTION', amounts: { total: 4300, paid: 4300 } });
  // Sold at once, as the rest of a paid order is.
  expect(await level(o.b)).toEqual({ onHand: 9, reserved: 0 });
  expect((await providerPayments(o.id)).filter((p) => p.status === 'succeeded')).toHaveLength(2);
  expect(await audit(o.id)).toEqual([]);
});

test('paid: a line removed and another swapped are refunded what the order was paid beyond its new total, the units back on hand', async () => {
  const o = await anOrder(true);
  const c = uniqueSku('edc');
  await putProduct(c, { price: 400, stock: 5 });
  const edit = (await preview(o.id, merchant, { change: [{ sku: o.a, quantity: 1, newSku: c }] })).body.edit;
  expect(edit.after.items).toEqual([expect.objectContaining({ sku: c, quantity: 1, total: 400 })]);
  expect(edit).toMatchObject({ owed: 0, refund: 1600, after: { amounts: { total: 1200 } } });
  const done = await confirm(edit.id, merchant);
  expect(done.status).toBe(200);
  const order = await waitForOrder(o.id, o.owner, (x) => x.amounts.refunded === 1600);
  expect(order.amounts).toMatchObject({ total: 1200, paid: 2800, refunded: 1600 });
  expect(await level(o.a)).toEqual({ onHand: 10, reserved: 0 });
  expect(await level(c)).toEqual({ onHand: 4, reserved: 0 });
  expect(await providerRefunded(o.id)).toBe(1600);
  const refunds = await call('GET', `/v1/refunds?orderId=${o.id}&source=edit`, { as: merchant });
  expect(refunds.body.items).toEqual([expect.objectContaining({ source: 'edit', amount: 1600 })]);
  expect(await audit(o.id)).toEqual([]);
});

test('an edit whose refund the payment cannot give in full (refunded outside this service) stands: what it could give is recorded and the rest flagged', async () => {
  const o = await anOrder(true);
  const order = await orderOf(o.id, o.owner);
  // 2000 of the 2800 refunded in the provider's dashboard: 800 is left there.
  const dashboard = await fetch(`${process.env.PAYMENT_PROVIDER_URL}/v1/refunds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `dashboard-${o.id}` },
    body: JSON.stringify({ payment_intent: order.payments[0].id, amount: 2000 }),
  });
  expect(dashboard.status).toBe(200);
  const edit = (await preview(o.id, merchant, { change: [{ sku: o.a, quantity: 1 }] })).body.edit;
  expect(edit).toMatchObject({ owed: 0, refund: 1000 });
  const done = await confirm(edit.id, merchant);
  expect(done.status).toBe(200);
  const edited = await waitForOrder(o.id, merchant, (x) => x.attention?.code === 'refund_short');
  expect(edited.amounts).toMatchObject({ total: 1800, paid: 2800, refunded: 800 });
  expect(edited.attention.detail).toBe('200');
  expect(edited.items).toEqual([expect.objectContaining({ sku: o.a, quantity: 1 })]);
  const refunds = await call('GET', `/v1/refunds?orderId=${o.id}&source=edit`, { as: merchant });
  expect(refunds.body.items).toEqual([expect.objectContaining({ source: 'edit', amount: 800 })]);
  expect(await providerRefunded(o.id)).toBe(2800);
  // The order takes its next action.
  const shipped = await call('POST', `/v1/orders/${o.id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: 'E1' },
  });
  expect(shipped.status).toBe(200);
});

test('a preview confirmed after the order changed is a 409 EDIT_STALE; two edits: the second is stale; cancelled, it cannot be confirmed', async () => {
  const o = await anOrder(false);
  const first = (await preview(o.id, o.owner, { change: [{ sku: o.a, quantity: 3 }] })).body.edit;
  const second = (await preview(o.id, o.owner, { add: [{ sku: o.b, quantity: 1 }] })).body.edit;
  expect((await confirm(first.id, o.owner)).status).toBe(200);
  const stale = await confirm(second.id, o.owner);
  expect(stale.status).toBe(409);
  expect(stale.body.code).toBe('EDIT_STALE');
  expect((await orderOf(o.id, o.owner)).items).toHaveLength(1);

  const third = (await preview(o.id, o.owner, { remove: [{ sku: o.a }], add: [{ sku: o.b, quantity: 1 }] }))
    .body.edit;
  const cancelled = await call('POST', `/v1/order-edits/${third.id}/cancel`, { as: o.owner, body: {} });
  expect(cancelled.body.edit.status).toBe('CANCELLED');
  expect((await confirm(third.id, o.owner)).status).toBe(409);
  // Paid meanwhile: an unpaid preview no longer applies.
  const fourth = (await preview(o.id, o.owner, { change: [{ sku: o.a, quantity: 1 }] })).body.edit;
  await call('POST', `/v1/orders/${o.id}/pay`, { as: o.owner, body: { paymentToken: 'tok_ok' } });
  expect((await confirm(fourth.id, o.owner)).body.code).toBe('EDIT_STALE');
});

test('refused before anything moves: out of stock, an unknown SKU, nothing changed, a line that is not there, and once the goods left', async () => {
  const o = await anOrder(true);
  const scarce = uniqueSku('eds');
  await putProduct(scarce, { price: 100, stock: 1 });
  const edit = (await preview(o.id, o.owner, { add: [{ sku: scarce, quantity: 2 }] })).body.edit;
  const out = await confirm(edit.id, o.owner, { paymentToken: 'tok_ok' });
  expect(out.status).toBe(422);
  expect(out.body.code).toBe('OUT_OF_STOCK');
  expect((await providerPayments(o.id)).filter((p) => p.status === 'succeeded')).toHaveLength(1);
  expect((await preview(o.id, o.owner, { add: [{ sku: 'no-such-sku', quantity: 1 }] })).body.code).toBe(
    'UNKNOWN_PRODUCT',
  );
  expect((await preview(o.id, o.owner, { change: [{ sku: o.a, quantity: 2 }] })).body.code).toBe(
    'EDIT_INVALID',
  );
  expect((await preview(o.id, o.owner, { remove: [{ sku: o.b }] })).body.code).toBe('UNKNOWN_LINE');
  expect((await preview(o.id, o.owner, {})).status).toBe(422);
  await call('POST', `/v1/orders/${o.id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: 'E1' },
  });
  const late = await preview(o.id, o.owner, { add: [{ sku: o.b, quantity: 1 }] });
  expect(late.status).toBe(409);
  expect(late.body.orderStatus).toBe('SHIPPED');
  expect(await audit(o.id)).toEqual([]);
});

test('a coupon whose minimum the edit no longer meets is given up, its use released; member prices are re-read', async () => {
  const code = `EDIT${uniqueSku('').slice(1, 7).toUpperCase()}`;
  const put = await call('PUT', `/v1/promotions/${code}`, {
    as: merchant,
    body: { kind: 'threshold', value: 300, minSubtotal: 2000 },
  });
  expect(put.status).toBe(201);
  const a = uniqueSku('edp');
  await putProduct(a, { price: 1000, stock: 10 });
  const owner = customer();
  const created = await call('POST', '/v1/orders', {
    as: owner,
    body: { items: [{ sku: a, quantity: 2 }], couponCode: code },
  });
  expect(created.body.order.amounts).toMatchObject({ discount: 300, total: 2500 });
  const id = created.body.order.id as string;
  const edit = (await preview(id, owner, { change: [{ sku: a, quantity: 1 }] })).body.edit;
  expect(edit).toMatchObject({
    couponKept: false,
    after: { amounts: { discount: 0, total: 1800 }, discounts: [] },
  });
  expect((await confirm(edit.id, owner)).status).toBe(200);
  const uses = await db('coupon_uses').where({ order_id: id }).select('state');
  expect(uses).toEqual([{ state: 'released' }]);
  // Back to two units: the minimum is met again, but the use was given up; neither an edit nor a
  // modification takes it back (it may be someone else's by now).
  const back = (await preview(id, owner, { change: [{ sku: a, quantity: 2 }] })).body.edit;
  expect(back).toMatchObject({ after: { amounts: { discount: 0, total: 2800 } } });
  expect((await confirm(back.id, owner)).status).toBe(200);
  const modified = await call('PATCH', `/v1/orders/${id}`, {
    as: owner,
    body: { items: [{ sku: a, quantity: 2 }] },
  });
  expect(modified.status).toBe(200);
  expect(modified.body.order.amounts).toMatchObject({ discount: 0, total: 2800 });
  expect(await db('coupon_uses').where({ order_id: id }).select('state')).toEqual([{ state: 'released' }]);
});

test('an edit reprices at the coupon terms the order took, not the promotion as it is now', async () => {
  const code = `TERMS${uniqueSku('').slice(1, 7).toUpperCase()}`;
  const put = (value: number) =>
    call('PUT', `/v1/promotions/${code}`, { as: merchant, body: { kind: 'percent', value } });
  expect((await put(10)).status).toBe(201);
  const [a, b] = [uniqueSku('eta'), uniqueSku('etb')];
  await putProduct(a, { price: 1000, stock: 10 });
  await putProduct(b, { price: 1500, stock: 10 });
  const owner = customer();
  const created = await call('POST', '/v1/orders', {
    as: owner,
    body: { items: [{ sku: a, quantity: 2 }], couponCode: code },
  });
  expect(created.body.order.amounts).toMatchObject({ discount: 200, total: 2600 });
  const id = created.body.order.id as string;
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  // The merchant makes it 50% for orders from now on.
  expect((await put(50)).status).toBe(200);
  const edit = (await preview(id, owner, { add: [{ sku: b, quantity: 1 }] })).body.edit;
  // 10% of 3500, as placed: 350 off, 3950 in all; 1350 owed (at 50% it would be a refund).
  expect(edit).toMatchObject({
    couponKept: true,
    after: { amounts: { discount: 350, total: 3950 } },
    owed: 1350,
    refund: 0,
  });
});

test('a bank transfer for what an edit adds: 202, nothing else happens meanwhile, applied when it succeeds; one that fails gives the units back', async () => {
  const o = await anOrder(true);
  const edit = (await preview(o.id, o.owner, { add: [{ sku: o.b, quantity: 1 }] })).body.edit;
  const accepted = await confirm(edit.id, o.owner, { paymentToken: 'tok_async_ok' });
  expect(accepted.status).toBe(202);
  expect(accepted.body.payment).toMatchObject({ status: 'processing', amount: 1500 });
  expect(accepted.body.edit.status).toBe('CONFIRMING');
  // While it is decided, the order takes nothing else but a cancel; the edit cannot be dropped.
  const ship = await call('POST', `/v1/orders/${o.id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: 'E2' },
  });
  expect(ship.status).toBe(409);
  expect((await call('POST', `/v1/order-edits/${edit.id}/cancel`, { as: o.owner, body: {} })).status).toBe(
    409,
  );
  const applied = await waitForOrder(o.id, o.owner, (x) => x.amounts.total === 4300, 20_000);
  expect(applied.amounts).toMatchObject({ paid: 4300 });
  expect((await call('GET', `/v1/order-edits/${edit.id}`, { as: o.owner })).body.edit.status).toBe(
    'CONFIRMED',
  );
  expect(await level(o.b)).toEqual({ onHand: 9, reserved: 0 });

  const failing = (await preview(o.id, o.owner, { add: [{ sku: o.b, quantity: 2 }] })).body.edit;
  expect((await confirm(failing.id, o.owner, { paymentToken: 'tok_async_fail' })).status).toBe(202);
  for (let i = 0; i < 80; i++) {
    const now = (await call('GET', `/v1/order-edits/${failing.id}`, { as: o.owner })).body.edit;
    if (now.status === 'PREVIEW') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(await level(o.b)).toEqual({ onHand: 9, reserved: 0 });
  expect((await orderOf(o.id, o.owner)).amounts.total).toBe(4300);
  expect(await audit(o.id)).toEqual([]);
});

test('no edit while a payment of the order is pending; an order cancelled while an edit’s charge waits drops the edit, its units given back once', async () => {
  const unpaid = await anOrder(false);
  expect(
    (
      await call('POST', `/v1/orders/${unpaid.id}/pay`, {
        as: unpaid.owner,
        body: { paymentToken: 'tok_3ds' },
      })
    ).status,
  ).toBe(202);
  const refused = await preview(unpaid.id, unpaid.owner, { add: [{ sku: unpaid.b, quantity: 1 }] });
  expect(refused.status).toBe(409);

  const o = await anOrder(true);
  const edit = (await preview(o.id, o.owner, { add: [{ sku: o.b, quantity: 2 }] })).body.edit;
  expect((await confirm(edit.id, o.owner, { paymentToken: 'tok_3ds' })).status).toBe(202);
  expect(await level(o.b)).toEqual({ onHand: 10, reserved: 2 });
  const cancelled = await call('POST', `/v1/orders/${o.id}/cancel`, { as: o.owner, body: { reason: 'no' } });
  expect(cancelled.status).toBe(200);
  // The cancel gave everything back; the abandoned 3-D Secure step drops the edit without a second release.
  for (let i = 0; i < 80; i++) {
    const now = (await call('GET', `/v1/order-edits/${edit.id}`, { as: o.owner })).body.edit;
    if (now.status === 'CANCELLED') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect((await call('GET', `/v1/order-edits/${edit.id}`, { as: o.owner })).body.edit.status).toBe(
    'CANCELLED',
  );
  expect(await level(o.b)).toEqual({ onHand: 10, reserved: 0 });
  expect(await expectBooksBalance(db, [o.a, o.b])).toHaveLength(2);
  expect(await audit(o.id)).toEqual([]);
});

test('production starting or a review approved does not make a preview stale; a step that changes the order does', async () => {
  const a = uniqueSku('edr');
  await putProduct(a, { price: 1000, stock: 10 });
  const owner = customer();
  const id = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku: a, quantity: 2 }] } }))
    .body.order.id as string;
  // A charge scored risky: the order waits for staff in review.
  await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_risky' } });
  await waitForOrder(id, owner, (o) => o.status === 'IN_REVIEW');
  const edit = (await preview(id, owner, { change: [{ sku: a, quantity: 1 }] })).body.edit;
  expect((await call('POST', `/v1/orders/${id}/approve`, { as: merchant, body: {} })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  const done = await confirm(edit.id, owner);
  expect(done.status).toBe(200);
  expect(done.body.order.amounts).toMatchObject({ total: 1800, refunded: 1000 });
  expect(await audit(id)).toEqual([]);
});

test("who previewed an edit: staff see the staff id, the order's customer only the role", async () => {
  const o = await anOrder(false);
  const previewed = await preview(o.id, merchant, { add: [{ sku: o.b, quantity: 1 }] });
  expect(previewed.status).toBe(201);
  expect(previewed.body.edit.createdBy).toBe(`merchant:${merchant.id}`);
  const seen = await call('GET', `/v1/order-edits/${previewed.body.edit.id}`, { as: o.owner });
  expect(seen.status).toBe(200);
  expect(seen.body.edit.createdBy).toBe('merchant');
  const cancelled = await call('POST', `/v1/order-edits/${previewed.body.edit.id}/cancel`, {
    as: o.owner,
    body: {},
  });
  expect(cancelled.body.edit.createdBy).toBe('merchant');
});

test('a channel reads its customers’ edits but may not make, confirm or drop one', async () => {
  const partner = `edits-${uniqueSku('').slice(1, 7)}`;
  const owner: As = { role: 'customer', id: customer().id, channel: partner };
  const app: As = { role: 'channel', id: 'partner-app', channel: partner };
  expect(
    (await call('PUT', `/v1/channels/${partner}`, { as: merchant, body: { name: 'Partner' } })).status,
  ).toBe(201);
  const a = uniqueSku('edc');
  await putProduct(a, { price: 1000, stock: 10 });
  const created = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku: a, quantity: 2 }] } });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  expect((await preview(id, app, { change: [{ sku: a, quantity: 1 }] })).status).toBe(403);
  const edit = (await preview(id, owner, { change: [{ sku: a, quantity: 1 }] })).body.edit;
  expect((await call('GET', `/v1/order-edits/${edit.id}`, { as: app })).status).toBe(200);
  expect((await confirm(edit.id, app)).status).toBe(403);
  const drop = await call('POST', `/v1/order-edits/${edit.id}/cancel`, { as: app, body: {} });
  expect(drop.status).toBe(403);
  expect((await call('GET', `/v1/order-edits/${edit.id}`, { as: owner })).body.edit.status).toBe('PREVIEW');
  // The owner may drop it.
  expect((await call('POST', `/v1/order-edits/${edit.id}/cancel`, { as: owner, body: {} })).status).toBe(200);
});
