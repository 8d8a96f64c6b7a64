/**
 * Support's "Request Cancellation" in the Temporal Web UI (any client's cancel of an order's
 * workflow): the order is cancelled as support's cancel through the API would cancel it, with its
 * refund, stock and coupon given back, and the workflow then completes. Where the order cannot be
 * cancelled any more, the request changes nothing and the order goes on.
 */
import { call, customer, merchant, putProduct, support, uniqueSku, waitForOrder } from '../support/api';
import { providerRefunds, testTemporal } from '../support/backends';

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
    const taken = async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const at = events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
      return at >= 0 && events.slice(at).some((e) => e.workflowTaskCompletedEventAttributes);
    };
    for (let i = 0; i < 50 && !(await taken()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await taken()).toBe(true);
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
