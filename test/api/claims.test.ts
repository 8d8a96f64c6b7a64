/**
 * Issue 21, item 2: claims. Goods that arrived damaged, went missing or were the wrong item: the
 * customer opens a claim, staff resolve it, and the units are refunded or replaced without
 * anything coming back. Damaged units are recorded as a loss in the stock ledger, never
 * restocked; a replacement's units are held from stock at approval and sold when it ships.
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
import { shippedOrder, stockLevel, type Shipped } from '../support/after-sales';

const db = testDb();
afterAll(() => db.destroy());

const openClaim = (o: Shipped, body: Record<string, unknown> = {}, as: As = o.owner) =>
  call('POST', `/v1/orders/${o.id}/claims`, {
    as,
    body: {
      items: [{ sku: o.sku, quantity: 1 }],
      kind: 'damaged',
      resolution: 'refund',
      reason: 'the box was crushed',
      ...body,
    },
  });

const act = (id: string, action: string, body: object = {}, as: As = merchant) =>
  call('POST', `/v1/claims/${id}/${action}`, { as, body });

/** The claim once `done` holds (bounded). */
async function claimWhen(id: string, as: As, done: (c: { status: string }) => boolean) {
  for (let i = 0; i < 80; i++) {
    const reply = await call('GET', `/v1/claims/${id}`, { as });
    if (reply.status === 200 && done(reply.body.claim)) return reply.body.claim;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`claim ${id} never got there`);
}

const level = (sku: string) => stockLevel(db, sku);

test('a damaged unit is refunded once approved: nothing comes back, the ledger records a loss, stock stays', async () => {
  const o = await shippedOrder('clm');
  const before = await level(o.sku);
  const opened = await openClaim(o);
  expect(opened.status).toBe(201);
  expect(opened.headers.get('location')).toBe(`/v1/claims/${opened.body.claim.id}`);
  const claim = opened.body.claim;
  expect(claim).toMatchObject({
    orderId: o.id,
    status: 'REQUESTED',
    kind: 'damaged',
    resolution: 'refund',
    items: [{ sku: o.sku, quantity: 1 }],
    refundedAmount: null,
    allowedActions: [],
  });
  // The customer asks; staff decide.
  expect((await act(claim.id, 'approve', {}, o.owner)).status).toBe(403);
  const staffView = await call('GET', `/v1/claims/${claim.id}`, { as: support });
  expect(staffView.body.claim.allowedActions).toEqual(['approve', 'reject']);

  const approved = await act(claim.id, 'approve', { reason: 'photo shows it' });
  expect(approved.status).toBe(200);
  expect(approved.body.claim.status).toBe('APPROVED');
  const refunded = await claimWhen(claim.id, o.owner, (c) => c.status === 'REFUNDED');
  // One unit of a 1000 line; the shipping stays paid for the units kept.
  expect(refunded).toMatchObject({ refundedAmount: 1000, statusLabel: 'Refunded' });

  const order = await waitForOrder(o.id, o.owner, (x) => x.amounts.refunded === 1000);
  expect(order.status).toBe('SHIPPED');
  expect(order.history.map((h: { action: string }) => h.action)).toEqual(
    expect.arrayContaining(['open_claim', 'claim_refund']),
  );
  const refunds = await call('GET', `/v1/refunds?orderId=${o.id}&source=claim`, { as: merchant });
  expect(refunds.body.items).toEqual([
    expect.objectContaining({ id: claim.id, source: 'claim', amount: 1000 }),
  ]);

  // A loss where it was sold from; nothing restocked, no counter moved.
  const moves = await db('stock_movements').where({ order_id: o.id }).select('kind', 'quantity');
  expect(moves.filter((m) => m.kind === 'loss')).toEqual([{ kind: 'loss', quantity: 1 }]);
  expect(moves.filter((m) => m.kind === 'restock')).toEqual([]);
  expect(await level(o.sku)).toEqual(before);
  await expectBooksBalance(db, [o.sku]);

  // The refunded unit cannot be claimed again: two are left.
  const again = await openClaim(o, { items: [{ sku: o.sku, quantity: 3 }] });
  expect(again.status).toBe(422);

  const events = await db('order_events').where({ order_id: o.id }).orderBy('seq').pluck('type');
  expect(events).toEqual(
    expect.arrayContaining(['claim.requested', 'claim.approved', 'claim.refunded', 'claim.closed']),
  );
}, 60_000);

test('a missing unit is replaced: held from stock at approval, sold when shipped, never refunded', async () => {
  // 3 sold, 1 left for a replacement.
  const o = await shippedOrder('clm', 4);
  const opened = await openClaim(o, { kind: 'missing', resolution: 'replace' });
  expect(opened.status).toBe(201);
  const id = opened.body.claim.id as string;
  const approved = await act(id, 'approve');
  expect(approved.status).toBe(200);
  expect(approved.body.claim).toMatchObject({
    status: 'APPROVED',
    allowedActions: ['ship', 'refund_instead'],
  });
  expect(await level(o.sku)).toEqual({ onHand: 1, reserved: 1 });

  const shipped = await act(id, 'ship', { carrier: 'DHL', trackingNumber: 'R-1' });
  expect(shipped.status).toBe(200);
  expect(shipped.body.claim).toMatchObject({
    status: 'REPLACED',
    shipment: { carrier: 'DHL', trackingNumber: 'R-1' },
    refundedAmount: null,
  });
  expect(await level(o.sku)).toEqual({ onHand: 0, reserved: 0 });
  // Shipping again is the closed claim's machine saying no.
  expect((await act(id, 'ship', { carrier: 'DHL', trackingNumber: 'R-2' })).status).toBe(409);
  // The replacement is another parcel of the order (not its lines: nothing more to ship of them).
  const order = await waitForOrder(o.id, o.owner, (x) => (x.shipments ?? []).length === 2);
  expect(order.shipments[1]).toMatchObject({
    id: `${id}:parcel`,
    claimId: id,
    items: [{ sku: o.sku, quantity: 1 }],
    trackingNumber: 'R-1',
  });
  expect(order.amounts.refunded).toBe(0);
  expect((await db('stock_movements').where({ order_id: o.id, kind: 'loss' })).length).toBe(0);
  await expectBooksBalance(db, [o.sku]);

  // Nothing left to replace with: the approval is refused and changes nothing.
  const next = await openClaim(o, { kind: 'wrong_item', resolution: 'replace' });
  expect(next.status).toBe(201);
  const nextId = next.body.claim.id as string;
  const short = await act(nextId, 'approve');
  expect(short.status).toBe(422);
  expect(short.body.code).toBe('OUT_OF_STOCK');
  expect((await call('GET', `/v1/claims/${nextId}`, { as: merchant })).body.claim.status).toBe('REQUESTED');

  // Stock again: approved, its unit held; then it cannot ship after all, and is refunded instead.
  await putProduct(o.sku, { price: 1000, stock: 1 });
  expect((await act(nextId, 'approve')).status).toBe(200);
  expect(await level(o.sku)).toEqual({ onHand: 1, reserved: 1 });
  const instead = await act(nextId, 'refund-instead', { reason: 'the carrier lost it too' });
  expect(instead.status).toBe(200);
  expect(instead.body.claim.resolution).toBe('refund');
  expect((await claimWhen(nextId, merchant, (c) => c.status === 'REFUNDED')).refundedAmount).toBe(1000);
  expect(await level(o.sku)).toEqual({ onHand: 1, reserved: 0 });
  await expectBooksBalance(db, [o.sku]);
  expect((await act(nextId, 'refund-instead')).status).toBe(409);

  // Approved as a refund though the customer asked for a replacement: nothing is held.
  const third = await openClaim(o, { kind: 'missing', resolution: 'replace' });
  const asRefund = await act(third.body.claim.id, 'approve', { resolution: 'refund' });
  expect(asRefund.status).toBe(200);
  expect(asRefund.body.claim.resolution).toBe('refund');
  expect(
    (await claimWhen(third.body.claim.id, merchant, (c) => c.status === 'REFUNDED')).refundedAmount,
  ).toBe(1000);
  expect(await level(o.sku)).toEqual({ onHand: 1, reserved: 0 });
}, 60_000);

test('a rejected claim frees its units; claims are refused where they cannot be, and listed per caller', async () => {
  const o = await shippedOrder('clm');
  const opened = await openClaim(o, { items: [{ sku: o.sku, quantity: 3 }], kind: 'wrong_item' });
  expect(opened.status).toBe(201);
  // Held by the claim: no return of them meanwhile.
  const held = await call('POST', `/v1/orders/${o.id}/returns`, {
    as: o.owner,
    body: { items: [{ sku: o.sku, quantity: 1 }], reason: 'twice' },
  });
  expect(held.status).toBe(422);
  const rejected = await act(opened.body.claim.id, 'reject', { reason: 'the right item was sent' });
  expect(rejected.status).toBe(200);
  expect(rejected.body.claim.status).toBe('REJECTED');
  // Freed once the order hears of it.
  let returned = 0;
  for (let i = 0; i < 40 && returned !== 201; i++) {
    const reply = await call('POST', `/v1/orders/${o.id}/returns`, {
      as: o.owner,
      body: { items: [{ sku: o.sku, quantity: 3 }], reason: 'after all' },
    });
    returned = reply.status;
    if (returned !== 201) await new Promise((r) => setTimeout(r, 250));
  }
  expect(returned).toBe(201);

  // Someone else's order is not found; an unshipped order has nothing to claim; bad input is a 400.
  expect((await openClaim(o, {}, customer())).status).toBe(404);
  const sku = uniqueSku('clm');
  await putProduct(sku, { price: 1000, stock: 5 });
  const owner = customer();
  const unpaid = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 1 }] } });
  expect((await openClaim({ id: unpaid.body.order.id, owner, sku })).status).toBe(409);
  expect((await openClaim(o, { kind: 'stolen' })).status).toBe(400);
  expect((await openClaim(o, { reason: 'bad\u0000text' })).status).toBe(400);

  // Customers list their own; staff filter by kind and order.
  const mine = await call('GET', '/v1/claims', { as: o.owner });
  expect(mine.body.items.map((c: { id: string }) => c.id)).toEqual([opened.body.claim.id]);
  expect((await call('GET', '/v1/claims', { as: owner })).body.items).toEqual([]);
  const byKind = await call('GET', `/v1/claims?orderId=${o.id}&kind=wrong_item`, { as: merchant });
  expect(byKind.body.items).toEqual([
    expect.objectContaining({ id: opened.body.claim.id, status: 'REJECTED' }),
  ]);
  expect((await call('GET', `/v1/claims?orderId=${o.id}&kind=damaged`, { as: merchant })).body.items).toEqual(
    [],
  );
}, 60_000);
