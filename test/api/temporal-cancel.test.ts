/**
 * Support's "Request Cancellation" in the Temporal Web UI (any client's cancel of an order's
 * workflow): the order is cancelled as support's cancel through the API would cancel it, with its
 * refund, stock and coupon given back, and the workflow then completes. Where the order cannot be
 * cancelled any more, the request changes nothing and the order goes on. A return's, claim's or
 * exchange's workflow likewise takes it as support's reject (or cancel) where staff could, and tells
 * its order; otherwise it goes on. None of them ends where it stands, leaving its order waiting.
 */
import { call, customer, merchant, putProduct, support, uniqueSku, waitForOrder } from '../support/api';
import { providerRefunds, testTemporal } from '../support/backends';
import { shippedOrder } from '../support/after-sales';

async function paidOrder() {
  const sku = uniqueSku('tcancel');
  await putProduct(sku, { price: 2500, stock: 5 });
  const owner = customer();
  const id = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 2 }] } })).body
    .order.id as string;
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  const order = await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  return { sku, owner, id, total: order.amounts.total as number };
}

const stockOf = async (sku: string) =>
  (await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock as {
    onHand: number;
    reserved: number;
  };

test('a cancellation request on a paid order cancels it: refunded, stock back, and the workflow completes', async () => {
  const { sku, owner, id, total } = await paidOrder();
  expect(await stockOf(sku)).toMatchObject({ onHand: 3, reserved: 0 });
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(id);
    await handle.cancel();
    expect(await handle.result()).toEqual({ orderId: id, status: 'CANCELLED' });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  } finally {
    await temporal.close();
  }
  const order = await waitForOrder(id, owner, (o) => o.status === 'CANCELLED');
  expect(order.amounts).toMatchObject({ paid: total, refunded: total });
  expect((await providerRefunds(id)).map((r) => r.amount)).toEqual([total]);
  expect(await stockOf(sku)).toMatchObject({ onHand: 5, reserved: 0 });
  const seen = (await call('GET', `/v1/orders/${id}`, { as: support })).body.order;
  expect(seen.history.at(-1)).toMatchObject({
    action: 'cancel',
    to: 'CANCELLED',
    actor: 'support:temporal',
    reason: 'cancellation requested in Temporal',
  });
});

test('a cancellation request on a shipped order changes nothing: the order goes on to its end', async () => {
  const { owner, id } = await paidOrder();
  expect(
    (
      await call('POST', `/v1/orders/${id}/ship`, {
        as: merchant,
        body: { carrier: 'UPS', trackingNumber: 'TC1' },
      })
    ).status,
  ).toBe(200);
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(id);
    await handle.cancel();
    // Taken by the workflow (a task completed after the request), and refused by the order's machine.
    expect(await requestTaken(handle)).toBe(true);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect((await call('GET', `/v1/orders/${id}`, { as: owner })).body.order.status).toBe('SHIPPED');
    // What support reads in the Web UI: why, and what to do instead.
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(currentDetails).toMatch(
      /Cancellation requested in Temporal, not taken \(.*\): cancel through the API/,
    );
    expect((await call('POST', `/v1/orders/${id}/confirm`, { as: owner, body: {} })).status).toBe(200);
    expect((await handle.result()).status).toBe('COMPLETED');
  } finally {
    await temporal.close();
  }
});

/** Whether the workflow has completed a task since a cancellation request reached it (bounded wait). */
async function requestTaken(handle: { fetchHistory(): Promise<{ events?: any[] | null }> }) {
  const taken = async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const at = events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
    return at >= 0 && events.slice(at).some((e) => e.workflowTaskCompletedEventAttributes);
  };
  for (let i = 0; i < 150 && !(await taken()); i++) await new Promise((r) => setTimeout(r, 200));
  return taken();
}

test('a cancellation request on an undecided return rejects it, and its order holds the units no more', async () => {
  const o = await shippedOrder('tcret');
  const opened = await call('POST', `/v1/orders/${o.id}/returns`, {
    as: o.owner,
    body: { items: [{ sku: o.sku, quantity: 2 }], reason: 'too big' },
  });
  expect(opened.status).toBe(201);
  const returnId = opened.body.return.id as string;
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(returnId);
    await handle.cancel();
    expect((await handle.result()).status).toBe('REJECTED');
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  } finally {
    await temporal.close();
  }
  const seen = (await call('GET', `/v1/returns/${returnId}`, { as: support })).body.return;
  expect(seen.status).toBe('REJECTED');
  expect(seen.history.at(-1)).toMatchObject({ action: 'reject', actor: 'support:temporal' });
  // The order heard: every unit may be returned again (it held two for this return).
  let again = 0;
  for (let i = 0; i < 40 && again !== 201; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 250));
    again = (
      await call('POST', `/v1/orders/${o.id}/returns`, {
        as: o.owner,
        body: { items: [{ sku: o.sku, quantity: 3 }], reason: 'all of them' },
      })
    ).status;
  }
  expect(again).toBe(201);
});

test('a cancellation request on an approved replacement claim changes nothing: it ships, and its order ends', async () => {
  const o = await shippedOrder('tcclm');
  const opened = await call('POST', `/v1/orders/${o.id}/claims`, {
    as: o.owner,
    body: { items: [{ sku: o.sku, quantity: 1 }], kind: 'damaged', resolution: 'replace', reason: 'cracked' },
  });
  expect(opened.status).toBe(201);
  const claimId = opened.body.claim.id as string;
  expect((await call('POST', `/v1/claims/${claimId}/approve`, { as: merchant, body: {} })).status).toBe(200);
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(claimId);
    await handle.cancel();
    expect(await requestTaken(handle)).toBe(true);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(currentDetails).toMatch(/A cancellation request was not taken/);
    expect((await call('GET', `/v1/claims/${claimId}`, { as: support })).body.claim.status).toBe('APPROVED');
    const shipped = await call('POST', `/v1/claims/${claimId}/ship`, {
      as: merchant,
      body: { carrier: 'UPS', trackingNumber: 'TCC1' },
    });
    expect(shipped.status).toBe(200);
    expect((await handle.result()).status).toBe('REPLACED');
  } finally {
    await temporal.close();
  }
  expect((await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.owner, body: {} })).status).toBe(200);
  const done = await waitForOrder(o.id, o.owner, (x) => x.status === 'COMPLETED', 30_000);
  expect(done.status).toBe('COMPLETED');
}, 60_000);

test('a cancellation request on an exchange cancels it as support would: its order gets the units back', async () => {
  const o = await shippedOrder('tcexc');
  const sku = uniqueSku('tcnew');
  await putProduct(sku, { price: 1000, stock: 5 });
  const opened = await call('POST', `/v1/orders/${o.id}/exchanges`, {
    as: o.owner,
    body: {
      returnItems: [{ sku: o.sku, quantity: 1 }],
      newItems: [{ sku, quantity: 1 }],
      reason: 'other colour',
    },
  });
  expect(opened.status).toBe(201);
  const exchangeId = opened.body.exchange.id as string;
  const temporal = await testTemporal();
  try {
    const handle = temporal.client.workflow.getHandle(exchangeId);
    await handle.cancel();
    expect((await handle.result()).status).toBe('CANCELLED');
  } finally {
    await temporal.close();
  }
  expect(
    (await call('GET', `/v1/exchanges/${exchangeId}`, { as: support })).body.exchange.history.at(-1),
  ).toMatchObject({
    action: 'cancel',
    actor: 'support:temporal',
  });
  // The new unit's hold went back.
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock).toMatchObject({
    onHand: 5,
    reserved: 0,
  });
});
