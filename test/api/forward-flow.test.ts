/** Issue 2: one order walks create → pay → produce → ship → confirm → complete through the real API. */
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { listedWorkflows, providerPayments, testDb, testTemporal } from '../support/backends';
import { acceptedUpdates } from '../support/history';

const db = testDb();
afterAll(() => db.destroy());

test('a standard order walks the whole forward flow to COMPLETED, and every store agrees', async () => {
  const sku = uniqueSku('mug');
  await putProduct(sku, { price: 1250, stock: 5 });
  const alice = customer();

  const created = await call('POST', '/v1/orders', {
    as: alice,
    body: { type: 'standard', items: [{ sku, quantity: 2 }] },
  });
  expect(created.status).toBe(201);
  const id: string = created.body.order.id;
  expect(created.body.order).toMatchObject({
    status: 'PENDING_PAYMENT',
    statusLabel: 'Awaiting payment',
    allowedActions: ['pay', 'cancel', 'modify', 'edit'],
    currency: 'USD',
    items: [{ sku, quantity: 2, unitPrice: 1250, discount: 0, total: 2500, refundedQuantity: 0 }],
    amounts: { subtotal: 2500, discount: 0, shipping: 800, total: 3300, paid: 0, refunded: 0 },
  });
  // Stock is held at order time (the default strategy).
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 5,
    reserved: 2,
    available: 3,
  });

  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: alice, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  expect(paid.body.order.status).toBe('PAID');
  expect(paid.body.order.amounts.paid).toBe(3300);
  // Production starts at once, recorded in the same workflow task as the payment, before the answer
  // goes out: the order center already shows it.
  expect((await call('GET', `/v1/orders/${id}`, { as: alice })).body.order.status).toBe('IN_PRODUCTION');

  // Production starts by itself; the merchant sees "To ship".
  const inProduction = await waitForOrder(id, merchant, (o) => o.status === 'IN_PRODUCTION');
  expect(inProduction.statusLabel).toBe('To ship');
  expect(inProduction.allowedActions).toEqual([
    'ship',
    'ship_part',
    'cancel',
    'modify',
    'refund',
    'refund_all',
    'edit',
  ]);

  const shipped = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: '1Z999' },
  });
  expect(shipped.status).toBe(200);
  expect(shipped.body.order).toMatchObject({
    status: 'SHIPPED',
    shipment: { carrier: 'UPS', trackingNumber: '1Z999' },
  });

  const confirmed = await call('POST', `/v1/orders/${id}/confirm`, { as: alice, body: {} });
  expect(confirmed.status).toBe(200);
  expect(confirmed.body.order.status).toBe('CONFIRMED');

  // AFTER_SALES_WINDOW is 5s in the test stack.
  const completed = await waitForOrder(id, alice, (o) => o.status === 'COMPLETED', 20_000);
  expect(completed.history.map((h: any) => [h.from, h.action, h.to])).toEqual([
    [null, 'place', 'PENDING_PAYMENT'],
    ['PENDING_PAYMENT', 'pay', 'PAID'],
    ['PAID', 'start_production', 'IN_PRODUCTION'],
    ['IN_PRODUCTION', 'ship', 'SHIPPED'],
    ['SHIPPED', 'confirm', 'CONFIRMED'],
    ['CONFIRMED', 'complete', 'COMPLETED'],
  ]);
  // Staff see who acted; the customer, only in what role (issue 17: staff ids are not hers to know).
  const seenByStaff = (await call('GET', `/v1/orders/${id}`, { as: merchant })).body.order;
  expect(seenByStaff.history.map((h: any) => h.actor)).toEqual([
    `customer:${alice.id}`,
    `customer:${alice.id}`,
    'system',
    `merchant:${merchant.id}`,
    `customer:${alice.id}`,
    'system',
  ]);
  expect(completed.history.map((h: any) => h.actor)).toEqual([
    'customer',
    'customer',
    'system',
    'merchant',
    'customer',
    'system',
  ]);
  expect(completed.history[5].reason).toBe('after_sales_window_closed');
  const times = completed.history.map((h: any) => Date.parse(h.at));
  expect([...times].sort((a, b) => a - b)).toEqual(times);

  // PostgreSQL: sold stock left on-hand, exactly one successful charge, one production job.
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 3,
    reserved: 0,
    available: 3,
  });
  const payments = await providerPayments(id);
  expect(payments.map((p) => [p.status, p.amount])).toEqual([['succeeded', 3300]]);
  expect(await db('production_jobs').where({ order_id: id })).toHaveLength(1);
  expect(await db('stock_movements').where({ order_id: id }).orderBy('id').pluck('kind')).toEqual([
    'reserve',
    'commit',
  ]);

  // Temporal: the workflow is closed, found by its search attributes, and agrees with the database.
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(id);
    expect(await handle.result()).toEqual({ orderId: id, status: 'COMPLETED' });
    const listed = await listedWorkflows(
      temporal.client,
      `WorkflowId = '${id}' AND OrderStatus = 'COMPLETED' AND CustomerId = '${alice.id}'`,
    );
    expect(listed).toEqual([id]);
  } finally {
    await temporal.close();
  }
});

test('a declined card leaves the order payable, and a refused action leaves no trace', async () => {
  const sku = uniqueSku('lamp');
  await putProduct(sku, { price: 5000, stock: 1 });
  const bob = customer();
  const { body } = await call('POST', '/v1/orders', { as: bob, body: { items: [{ sku, quantity: 1 }] } });
  const id = body.order.id;

  const declined = await call('POST', `/v1/orders/${id}/pay`, {
    as: bob,
    body: { paymentToken: 'tok_insufficient_funds' },
  });
  expect(declined.status).toBe(402);
  expect(declined.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(declined.body).toMatchObject({ status: 402, code: 'insufficient_funds' });

  const early = await call('POST', `/v1/orders/${id}/confirm`, { as: bob, body: {} });
  expect(early.status).toBe(409);
  expect(early.body).toMatchObject({
    status: 409,
    orderStatus: 'PENDING_PAYMENT',
    allowedActions: ['pay', 'cancel', 'modify', 'edit'],
  });

  const notMerchant = await call('POST', `/v1/orders/${id}/ship`, {
    as: bob,
    body: { carrier: 'x', trackingNumber: 'y' },
  });
  expect(notMerchant.status).toBe(403);

  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: bob, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  const order = await waitForOrder(id, bob, (o) => o.status === 'IN_PRODUCTION');
  expect(order.history.map((h: any) => h.action)).toEqual(['place', 'pay', 'start_production']);

  // The refused updates were rejected by the validator: nothing about them in the workflow history.
  const temporal = await testTemporal();
  try {
    const names = (await acceptedUpdates(temporal.client.workflow.getHandle(id))).map((u) => u.name);
    // create, the declined pay (accepted, then failed in its handler), the successful pay
    expect(names).toEqual(['createOrder', 'orderAction', 'orderAction']);
  } finally {
    await temporal.close();
  }
});

test('another customer cannot see the order (404), and bad input is a 400 problem that changes nothing', async () => {
  const sku = uniqueSku('pen');
  await putProduct(sku, { stock: 3 });
  const owner = customer();
  const { body } = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 1 }] } });
  expect((await call('GET', `/v1/orders/${body.order.id}`, { as: customer() })).status).toBe(404);
  expect(
    (
      await call('POST', `/v1/orders/${body.order.id}/pay`, {
        as: customer(),
        body: { paymentToken: 'tok_ok' },
      })
    ).status,
  ).toBe(404);
  expect((await call('GET', `/v1/orders/${body.order.id}`)).status).toBe(401);

  const bad = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 0 }] } });
  expect(bad.status).toBe(400);
  expect(bad.body.errors[0].path).toEqual(['items', 0, 'quantity']);
  const unknown = await call('POST', '/v1/orders', {
    as: owner,
    body: { items: [{ sku: uniqueSku('nope'), quantity: 1 }] },
  });
  expect(unknown.status).toBe(422);
  expect(unknown.body.code).toBe('UNKNOWN_PRODUCT');
  const tooMany = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 3 }] } });
  expect(tooMany.status).toBe(422);
  expect(tooMany.body.code).toBe('OUT_OF_STOCK');
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 3,
    reserved: 1,
    available: 2,
  });
  expect(await db('orders').where({ customer_id: owner.id }).count('* as n')).toEqual([{ n: 1 }]);
});
