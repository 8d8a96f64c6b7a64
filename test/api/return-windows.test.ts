/**
 * Issue 21, item 4: returns that finish. A return nobody decides is escalated after
 * RETURN_DECISION_WINDOW, then closed after as long again; an approved return whose goods never
 * come closes after RETURN_SHIP_WINDOW; neither holds the order's completion. A receipt says what
 * arrived per SKU: sellable units go back on sale, damaged ones are written off, both are refunded.
 * Reasons come from a closed list the merchant counts.
 */
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
import { expectBooksBalance, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;
beforeAll(async () => {
  services = await startOwnServices('return-windows', {
    // Seconds of room on a loaded machine for the calls each test makes inside a window.
    RETURN_DECISION_WINDOW: '4s',
    RETURN_SHIP_WINDOW: '8s',
    AFTER_SALES_WINDOW: '8s',
  });
}, 90_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const api = (method: string, path: string, as: As, body?: unknown) =>
  call(method, path, { as, body, baseUrl: services.apiUrl });

/** A confirmed order of 3 units at 1000 (shipping 800): the after-sales window is open. */
async function confirmedOrder() {
  const sku = uniqueSku('rw');
  await putProduct(sku, { price: 1000, stock: 20 }, services.apiUrl);
  const owner = customer();
  const created = await api('POST', '/v1/orders', owner, { items: [{ sku, quantity: 3 }] });
  const id = created.body.order.id as string;
  expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken: 'tok_ok' })).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION', 30_000, services.apiUrl);
  expect(
    (await api('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'W1' })).status,
  ).toBe(200);
  expect((await api('POST', `/v1/orders/${id}/confirm`, owner, {})).status).toBe(200);
  return { id, owner, sku };
}

async function requestReturn(
  o: { id: string; owner: As; sku: string },
  quantity: number,
  extra: object = {},
) {
  const reply = await api('POST', `/v1/orders/${o.id}/returns`, o.owner, {
    items: [{ sku: o.sku, quantity }],
    reason: 'it does not fit',
    ...extra,
  });
  expect(reply.status).toBe(201);
  return reply.body.return as { id: string; status: string; reasonCode: string };
}

const returnOf = async (id: string) => (await api('GET', `/v1/returns/${id}`, support)).body.return;
async function returnIn(id: string, status: string, withinMs = 30_000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const ret = await returnOf(id);
    if (ret.status === status) return ret;
    if (Date.now() > deadline) throw new Error(`return ${id} is ${ret.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
/** The order once it has completed (its after-sales window passed, its cases settled). */
const completed = (order: { id: string; owner: As }) =>
  waitForOrder(order.id, order.owner, (o) => o.status === 'COMPLETED', 30_000, services.apiUrl);

const onHand = async (sku: string) =>
  (await api('GET', `/v1/products/${sku}`, merchant)).body.stock.onHand as number;

test('a return nobody decides is escalated, then closed; the order completes all the same, nothing refunded', async () => {
  const order = await confirmedOrder();
  const ret = await requestReturn(order, 1, { reasonCode: 'size_or_fit' });
  expect(ret).toMatchObject({ status: 'REQUESTED', reasonCode: 'size_or_fit' });
  const escalated = await returnIn(ret.id, 'ESCALATED');
  expect(escalated.history.at(-1)).toMatchObject({ from: 'REQUESTED', action: 'escalate', actor: 'system' });
  expect(escalated.allowedActions).toEqual(['approve', 'reject']); // staff may still decide
  expect(
    (await api('GET', `/v1/returns?status=ESCALATED&limit=100`, support)).body.items.map((r: any) => r.id),
  ).toContain(ret.id);
  const closed = await returnIn(ret.id, 'CLOSED');
  expect(closed.history.at(-1)).toMatchObject({ from: 'ESCALATED', action: 'close', reason: 'undecided' });
  const done = await completed(order);
  expect(done.amounts.refunded).toBe(0);
  const events = (await api('GET', `/v1/orders/${order.id}/events?limit=100`, merchant)).body.items.map(
    (e: any) => e.type,
  );
  expect(events).toEqual(expect.arrayContaining(['return.requested', 'return.escalated', 'return.closed']));
});

test('staff may still decide an escalated return; approved goods that never come close it; the order completes', async () => {
  const order = await confirmedOrder();
  const ret = await requestReturn(order, 2);
  expect(ret.reasonCode).toBe('other');
  await returnIn(ret.id, 'ESCALATED');
  // The answer comes from the return's workflow: it shows the reason as the order center does.
  const approved = await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {});
  expect(approved.body.return).toMatchObject({ status: 'APPROVED', reasonCode: 'other' });
  const closed = await returnIn(ret.id, 'CLOSED');
  expect(closed.history.at(-1)).toMatchObject({
    from: 'APPROVED',
    action: 'close',
    reason: 'goods_not_received',
  });
  // Too late to receive it now.
  expect((await api('POST', `/v1/returns/${ret.id}/receive`, merchant, {})).status).toBe(409);
  const done = await completed(order);
  expect(done.amounts.refunded).toBe(0);
});

test('once the after-sales window has closed, no new return opens, though one still open is settled first', async () => {
  const order = await confirmedOrder();
  const confirmed = (await api('GET', `/v1/orders/${order.id}`, order.owner)).body.order;
  const confirmedAt = Date.parse(confirmed.history.at(-1).at);
  // The order says when its window closes, and lists a return until then.
  expect(Date.parse(confirmed.afterSalesUntil)).toBe(confirmedAt + 8000);
  expect(confirmed.allowedActions).toContain('request_return');
  // A return opened late in the window and approved: its goods have 8 s to come, past the window's end.
  await new Promise((r) => setTimeout(r, Math.max(0, confirmedAt + 5000 - Date.now())));
  const late = await requestReturn(order, 1);
  expect((await api('POST', `/v1/returns/${late.id}/approve`, merchant, {})).status).toBe(200);
  await new Promise((r) => setTimeout(r, Math.max(0, confirmedAt + 8500 - Date.now())));
  const refused = await api('POST', `/v1/orders/${order.id}/returns`, order.owner, {
    items: [{ sku: order.sku, quantity: 1 }],
    reason: 'too late',
  });
  expect((await returnOf(late.id)).status).toBe('APPROVED'); // the window closed with it open
  expect(refused.status).toBe(409);
  expect(refused.body).toMatchObject({ orderStatus: 'CONFIRMED' });
  expect(refused.body.detail).toMatch(/after-sales window has closed/);
  expect(refused.body.allowedActions).not.toContain('request_return');
  // The order's view says the same: no new case opens.
  const closed = (await api('GET', `/v1/orders/${order.id}`, order.owner)).body.order;
  expect(closed.status).toBe('CONFIRMED');
  expect(closed.allowedActions).not.toEqual(
    expect.arrayContaining([expect.stringMatching(/^(request_return|open_claim|open_exchange)$/)]),
  );
  // And so does a refusal of something else: its allowedActions are the view's.
  const cancel = await api('POST', `/v1/orders/${order.id}/cancel`, order.owner, {});
  expect(cancel.status).toBe(409);
  expect(cancel.body.allowedActions).toEqual(closed.allowedActions);
  expect(cancel.body.allowedActions).not.toContain('request_return');
  // The open one is settled (its goods never came), then the order completes.
  await returnIn(late.id, 'CLOSED');
  const done = await completed(order);
  expect(done.history.filter((h: { action: string }) => h.action === 'request_return')).toHaveLength(1);
});

test('a receipt per SKU: sellable units back on sale, damaged ones written off, both refunded; reasons counted', async () => {
  const order = await confirmedOrder();
  const ret = await requestReturn(order, 3, { reasonCode: 'damaged' });
  expect((await api('POST', `/v1/returns/${ret.id}/approve`, merchant, {})).status).toBe(200);
  const before = await onHand(order.sku);
  // Refused receipts change nothing: a SKU not in the return, more units than it holds.
  for (const items of [
    [{ sku: uniqueSku('other'), sellable: 1, damaged: 0 }],
    [{ sku: order.sku, sellable: 2, damaged: 2 }],
  ])
    expect((await api('POST', `/v1/returns/${ret.id}/receive`, merchant, { items })).body).toMatchObject({
      status: 422,
      code: 'RECEIPT_MISMATCH',
    });
  expect((await returnOf(ret.id)).status).toBe('APPROVED');

  // Two of three came back: one sellable, one damaged.
  const received = await api('POST', `/v1/returns/${ret.id}/receive`, merchant, {
    items: [{ sku: order.sku, sellable: 1, damaged: 1 }],
  });
  expect(received.status).toBe(200);
  expect(received.body.return.received).toEqual([{ sku: order.sku, sellable: 1, damaged: 1 }]);
  const refunded = await returnIn(ret.id, 'REFUNDED');
  // Two units of a 3000 line: 2000; the third never came and is not refunded.
  expect(refunded.refundedAmount).toBe(2000);
  expect(await onHand(order.sku)).toBe(before + 1);
  await expectBooksBalance(db, [order.sku]);
  const moves = await db('stock_movements')
    .where({ order_id: order.id })
    .orderBy('id')
    .select('kind', 'quantity', 'op_key');
  expect(moves.filter((m) => m.op_key.includes(':writeoff:'))).toEqual([
    expect.objectContaining({ kind: 'restock', quantity: 1 }),
    expect.objectContaining({ kind: 'adjust', quantity: -1 }),
  ]);
  const o = await completed(order);
  expect(o.items[0].refundedQuantity).toBe(2);

  // The merchant's report: returns by reason, and the list filtered by one.
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const stats = await api('GET', `/v1/returns/stats?createdFrom=${encodeURIComponent(from)}`, merchant);
  expect(stats.status).toBe(200);
  const damaged = stats.body.groups.find((g: any) => g.reasonCode === 'damaged' && g.currency === 'USD');
  expect(damaged.returns).toBeGreaterThanOrEqual(1);
  expect(damaged.refunded).toBeGreaterThanOrEqual(2000);
  expect((await api('GET', '/v1/returns/stats', order.owner)).status).toBe(403);
  const listed = await api('GET', '/v1/returns?reasonCode=damaged&limit=100', support);
  expect(listed.body.items.every((r: any) => r.reasonCode === 'damaged')).toBe(true);
  expect(listed.body.items.map((r: any) => r.id)).toContain(ret.id);
  expect(
    (
      await api('POST', `/v1/orders/${order.id}/returns`, order.owner, {
        items: [{ sku: order.sku, quantity: 1 }],
        reason: 'x',
        reasonCode: 'bogus',
      })
    ).status,
  ).toBe(400);
});

/** Exchanges keep the same windows: none holds its order open for ever. */
async function exchangeIn(id: string, status: string, withinMs = 30_000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const ex = (await api('GET', `/v1/exchanges/${id}`, support)).body.exchange;
    if (ex.status === status) return ex;
    if (Date.now() > deadline) throw new Error(`exchange ${id} is ${ex.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('an exchange nobody decides is cancelled by the system (units back, difference refunded); one whose goods never come closes UNRETURNED; the order completes', async () => {
  const order = await confirmedOrder();
  const other = uniqueSku('rwx');
  await putProduct(other, { price: 1200, stock: 5 }, services.apiUrl);
  const open = async () => {
    const reply = await api('POST', `/v1/orders/${order.id}/exchanges`, order.owner, {
      returnItems: [{ sku: order.sku, quantity: 1 }],
      newItems: [{ sku: other, quantity: 1 }],
      reason: 'another colour',
    });
    expect(reply.status).toBe(201);
    return reply.body.exchange.id as string;
  };
  // Both opened at once: once the first is cancelled, the order's after-sales window may close.
  const undecided = await open();
  const shipped = await open();
  expect(
    (await api('POST', `/v1/exchanges/${undecided}/pay`, order.owner, { paymentToken: 'tok_ok' })).status,
  ).toBe(200);
  expect(
    (await api('POST', `/v1/exchanges/${shipped}/pay`, order.owner, { paymentToken: 'tok_ok' })).status,
  ).toBe(200);
  expect((await api('POST', `/v1/exchanges/${shipped}/approve`, merchant, {})).status).toBe(200);
  expect(
    (await api('POST', `/v1/exchanges/${shipped}/ship`, merchant, { carrier: 'UPS', trackingNumber: 'WX' }))
      .status,
  ).toBe(200);
  const cancelled = await exchangeIn(undecided, 'CANCELLED');
  expect(cancelled).toMatchObject({ refundedAmount: 200, payment: { status: 'refunded' } });
  expect(cancelled.history.at(-1)).toMatchObject({
    action: 'cancel',
    actor: 'system',
    reason: 'not_decided_in_time',
  });

  const closed = await exchangeIn(shipped, 'UNRETURNED');
  expect(closed.history.at(-1)).toMatchObject({
    action: 'close',
    actor: 'system',
    reason: 'goods_never_sent',
  });
  const done = await completed(order);
  // The undecided one gave its unit back; the unreturned one keeps it credited.
  expect(done.items[0]).toMatchObject({ exchangedQuantity: 1, exchangedAmount: 1000 });
  expect((await api('GET', `/v1/products/${other}`, merchant)).body.stock).toMatchObject({
    onHand: 4,
    reserved: 0,
  });
});
