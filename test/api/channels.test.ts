/**
 * Issue 22, item 3: sales channels. A partner's system (role `channel`, claim `channel`) places
 * orders for its own customers, pays and cancels for them as its machine allows, and sees only its
 * channel's orders; customer ids are scoped by channel; every order says its channel, which the
 * order list filters and counts by; a channel's payment timeout and order types apply.
 */
import { randomUUID } from 'node:crypto';
import { call, customer, merchant, putProduct, support, uniqueSku, type As } from '../support/api';
import { auditCoupons } from '../../audit/invariants';
import { testDb, testTemporal } from '../support/backends';

const partner = `partner-${randomUUID().slice(0, 6)}`;
const app: As = { role: 'channel', id: 'partner-app', channel: partner };
let sku: string;

beforeAll(async () => {
  sku = uniqueSku('ch');
  await putProduct(sku, { stock: 100, price: 1200 });
  expect((await call('PUT', `/v1/channels/${partner}`, { as: support, body: { name: 'P' } })).status).toBe(
    403,
  );
  const put = await call('PUT', `/v1/channels/${partner}`, {
    as: merchant,
    body: { name: 'Partner mall', paymentTimeout: '2h', orderTypes: ['standard'] },
  });
  expect(put.status).toBe(201);
  expect(put.body.channel).toMatchObject({
    id: partner,
    paymentTimeoutMs: 7_200_000,
    orderTypes: ['standard'],
  });
  // One order of the web shop's own, so the counts per channel have both whatever ran before.
  const web = await call('POST', '/v1/orders', { as: customer(), body: { items: [{ sku, quantity: 1 }] } });
  expect(web.status).toBe(201);
});

const place = (as: As, body: object) => call('POST', '/v1/orders', { as, body });

test('a channel places an order for its customer, pays and cancels for it, and sees only its own channel', async () => {
  const shopper = `c-${randomUUID().slice(0, 6)}`;
  expect((await place(app, { items: [{ sku, quantity: 1 }] })).status).toBe(400); // for whom?
  const created = await place(app, { customerId: shopper, items: [{ sku, quantity: 1 }] });
  expect(created.status).toBe(201);
  const order = created.body.order;
  expect(order).toMatchObject({ channel: partner, customerId: shopper, status: 'PENDING_PAYMENT' });
  // The channel's own payment timeout, not the global one.
  expect(Date.parse(order.paymentDeadline) - Date.parse(order.createdAt)).toBe(7_200_000);

  // The web shop's customer of the same id sees nothing of it; the partner's customer does.
  const webTwin: As = { role: 'customer', id: shopper };
  const partnerCustomer: As = { role: 'customer', id: shopper, channel: partner };
  expect((await call('GET', `/v1/orders/${order.id}`, { as: webTwin })).status).toBe(404);
  expect((await call('GET', '/v1/orders', { as: webTwin })).body.items.map((o: any) => o.id)).not.toContain(
    order.id,
  );
  expect((await call('GET', `/v1/orders/${order.id}`, { as: partnerCustomer })).status).toBe(200);
  // Another channel: a 404, as for someone else's order.
  const other: As = { role: 'channel', id: 'x', channel: `other-${randomUUID().slice(0, 6)}` };
  expect((await call('GET', `/v1/orders/${order.id}`, { as: other })).status).toBe(404);
  // Its list: only its channel's, whatever it asks for.
  const listed = await call('GET', '/v1/orders?channel=web&limit=100', { as: app });
  expect(listed.body.items.length).toBeGreaterThan(0);
  expect(listed.body.items.every((o: any) => o.channel === partner)).toBe(true);

  // What the machine lets a channel do: pay for its customer; not ship, refund or confirm.
  const paid = await call('POST', `/v1/orders/${order.id}/pay`, {
    as: app,
    body: { paymentToken: 'tok_ok' },
  });
  expect(paid.status).toBe(200);
  expect(paid.body.order.statusLabel).toBe('Paid'); // a channel shows its customer the customer's words
  expect(
    (
      await call('POST', `/v1/orders/${order.id}/ship`, {
        as: app,
        body: { carrier: 'x', trackingNumber: 'y' },
      })
    ).status,
  ).toBe(403);
  expect(
    (await call('POST', `/v1/orders/${order.id}/refunds`, { as: app, body: { reason: 'r' } })).status,
  ).toBe(403);
  const cancelled = await call('POST', `/v1/orders/${order.id}/cancel`, {
    as: app,
    body: { reason: 'changed' },
  });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.order.status).toBe('CANCELLED');
  expect(cancelled.body.order.history.at(-1)).toMatchObject({
    action: 'cancel',
    actor: `channel:partner-app`,
  });

  // Staff: the channel on the order, a filter and a group; the Web UI's search attribute.
  const byChannel = await call('GET', `/v1/orders?channel=${partner}&limit=100`, { as: support });
  expect(byChannel.body.items.map((o: any) => o.id)).toContain(order.id);
  expect(byChannel.body.items.every((o: any) => o.channel === partner)).toBe(true);
  const stats = await call('GET', '/v1/orders/stats?groupBy=channel', { as: merchant });
  expect(stats.body.groups.map((g: any) => g.key)).toEqual(expect.arrayContaining([partner, 'web']));
  const events = await call('GET', `/v1/orders/${order.id}/events?limit=100`, { as: support });
  expect(events.body.items[0].data.order.channel).toBe(partner);
  const temporal = await testTemporal();
  try {
    const described = await temporal.client.workflow.getHandle(order.id).describe();
    expect(described.searchAttributes.OrderChannel).toEqual([partner]);
  } finally {
    await temporal.close();
  }
}, 60_000);

test('a channel reads who acted on its orders by role when staff acted, never a staff id', async () => {
  const created = await place(app, {
    customerId: `c-${randomUUID().slice(0, 6)}`,
    items: [{ sku, quantity: 1 }],
  });
  expect(created.status).toBe(201);
  const id = created.body.order.id;
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: app, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  const shipped = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'x', trackingNumber: 'y' },
  });
  expect(shipped.status).toBe(200);
  const seen = await call('GET', `/v1/orders/${id}`, { as: app });
  const actors = seen.body.order.history.map((h: { actor: string }) => h.actor);
  expect(actors).toContain('channel:partner-app');
  expect(actors).toContain('merchant');
  expect(actors.filter((a: string) => /^(merchant|support):/.test(a))).toEqual([]);
  // Staff still see who it was.
  const staffView = await call('GET', `/v1/orders/${id}`, { as: support });
  expect(staffView.body.order.history.map((h: { actor: string }) => h.actor)).toContain(
    `merchant:${merchant.id}`,
  );
}, 60_000);

test("a partner's customer is not the web shop's of the same id: member tiers and a coupon's uses per customer are the channel's", async () => {
  const id = `c-${randomUUID().slice(0, 6)}`;
  const webCustomer: As = { role: 'customer', id };
  const buy = (as: As, couponCode?: string) =>
    place(as, {
      ...(as.role === 'channel' ? { customerId: id } : {}),
      items: [{ sku, quantity: 1 }],
      couponCode,
    });
  // The web shop's customer is gold: 5 % off for them only.
  const gold = await call('PUT', `/v1/members/${id}`, { as: merchant, body: { tier: 'gold' } });
  expect(gold.body).toEqual({ customerId: id, channel: 'web', tier: 'gold', discountPercent: 5 });
  expect((await buy(webCustomer)).body.order.amounts.discount).toBe(60);
  expect((await buy(app)).body.order.amounts.discount).toBe(0);
  // The partner's customer of that id has a tier of its own, set under its channel.
  const silver = await call('PUT', `/v1/members/${id}?channel=${partner}`, {
    as: merchant,
    body: { tier: 'silver' },
  });
  expect(silver.body).toMatchObject({ channel: partner, tier: 'silver' });
  expect((await call('GET', `/v1/members/${id}`, { as: support })).body.tier).toBe('gold');
  expect((await buy(app)).body.order.amounts.discount).toBe(36);
  expect(
    (
      await call('PUT', `/v1/members/${id}?channel=nowhere-${randomUUID().slice(0, 6)}`, {
        as: merchant,
        body: { tier: 'gold' },
      })
    ).status,
  ).toBe(404);
  // Read under a channel that is not registered: a 404 too, not a tier of nobody.
  expect(
    (await call('GET', `/v1/members/${id}?channel=nowhere-${randomUUID().slice(0, 6)}`, { as: support }))
      .status,
  ).toBe(404);

  // One use per customer: the partner's customer using it leaves the web shop's theirs.
  const coupon = `ONCE${randomUUID().slice(0, 6).toUpperCase()}`;
  const put = await call('PUT', `/v1/promotions/${coupon}`, {
    as: merchant,
    body: { kind: 'fixed', value: 100, perCustomerLimit: 1 },
  });
  expect(put.status).toBe(201);
  expect((await buy(app, coupon)).status).toBe(201);
  expect((await buy(webCustomer, coupon)).status).toBe(201);
  const again = await buy(app, coupon);
  expect(again.body).toMatchObject({ status: 422, code: 'COUPON_EXHAUSTED' });
  // The audit counts them the same way: one use each, no customer over the limit.
  const db = testDb();
  try {
    expect((await auditCoupons(db, [coupon])).violations).toEqual([]);
  } finally {
    await db.destroy();
  }
}, 60_000);

test('a channel is limited to its order types and must be registered; a customer orders for itself only', async () => {
  const virtualSku = uniqueSku('chv');
  await putProduct(virtualSku, { stock: 10, price: 500, kind: 'virtual' });
  const refused = await place(app, {
    type: 'virtual',
    customerId: 'c1',
    items: [{ sku: virtualSku, quantity: 1 }],
  });
  expect(refused.status).toBe(403);
  const unknown: As = { role: 'channel', id: 'ghost', channel: `ghost-${randomUUID().slice(0, 6)}` };
  expect((await place(unknown, { customerId: 'c1', items: [{ sku, quantity: 1 }] })).status).toBe(403);
  const someone = customer();
  expect((await place(someone, { customerId: 'someone-else', items: [{ sku, quantity: 1 }] })).status).toBe(
    403,
  );
  const own = await place(someone, { customerId: someone.id, items: [{ sku, quantity: 1 }] });
  expect(own.status).toBe(201);
  expect(own.body.order.channel).toBe('web');
  // A channel token must name its channel.
  expect((await call('GET', '/v1/orders', { as: { role: 'channel', id: 'nameless' } })).status).toBe(401);
});

test("an Idempotency-Key is its caller's within its channel: the web shop's twin gets its own order", async () => {
  const shopper = `c-${randomUUID().slice(0, 6)}`;
  const key = randomUUID();
  const body = { items: [{ sku, quantity: 1 }] };
  const send = (as: As) => call('POST', '/v1/orders', { as, body, headers: { 'idempotency-key': key } });
  const partnerCustomer: As = { role: 'customer', id: shopper, channel: partner };
  const first = await send(partnerCustomer);
  expect(first.status).toBe(201);
  expect(first.body.order).toMatchObject({ channel: partner, customerId: shopper });
  // The same id in the web shop, the same key and body: its own order, not the partner's replayed.
  const twin = await send({ role: 'customer', id: shopper });
  expect(twin.status).toBe(201);
  expect(twin.headers.get('idempotent-replayed')).toBeNull();
  expect(twin.body.order).toMatchObject({ channel: 'web', customerId: shopper });
  expect(twin.body.order.id).not.toBe(first.body.order.id);
  // The partner's customer's retry is still its own first answer.
  const again = await send(partnerCustomer);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.body.order.id).toBe(first.body.order.id);
});
