/**
 * A cancelled order's recalled parcel that the carrier never brings back: after PARCEL_NEWS_WAIT
 * support is asked (`recall_failed`), nothing is restocked, and the order's workflow ends, its
 * fulfilment there too. Back at its sender after all, it is restocked and recorded once. With
 * FULFILMENT=warehouse, that wait shortened, and the shared sandbox warehouse.
 */
import { merchant, support, waitForOrder } from '../support/api';
import { expectBooksBalance, testDb, testTemporal } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';
import { historyOf, warehouseKit, workflowResult } from '../support/warehouse';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('warehouse-recall', { FULFILMENT: 'warehouse', PARCEL_NEWS_WAIT: '4s' });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const { api, cancelledWithParcelOut, stockAt, warehouse, sendNewsNow } = warehouseKit(() => services.apiUrl);

/** The order once its workflow gave its recalled parcel up as lost. */
const givenUp = (id: string) =>
  waitForOrder(id, support, (o) => historyOf(o).includes('recall_lost'), 30_000, services.apiUrl);

/** The stalled carrier released (with `switches`): the order's late news recorded as `action`, by the system, once. */
async function recordedLate(id: string, gone: string, switches: object, action: string) {
  await warehouse(`/v1/sandbox/locations/${gone}`, { method: 'PUT', body: switches });
  const order = await waitForOrder(
    id,
    support,
    (o) => historyOf(o).includes(action),
    30_000,
    services.apiUrl,
  );
  expect(order.history.at(-1)).toMatchObject({
    from: 'CANCELLED',
    to: 'CANCELLED',
    action,
    actor: 'system',
    reason: gone,
  });
  return order;
}

test('a recalled parcel that never comes back: support is asked, its units are not restocked, and the workflow ends', async () => {
  // One location's parcel stays with the carrier for good; the other has not picked yet.
  const { gone, slow, x, y, id, order } = await cancelledWithParcelOut('wl');
  expect(order.shipments).toEqual([
    expect.objectContaining({ location: gone, recalledAt: expect.any(String) }),
  ]);
  // Waited for as long as PARCEL_NEWS_WAIT from the recall; then support is asked.
  const lost = await givenUp(id);
  expect(lost).toMatchObject({ status: 'CANCELLED', attention: { code: 'recall_failed', detail: gone } });
  expect(lost.shipments[0]).toMatchObject({ status: 'shipped', recalledAt: expect.any(String) });
  const recall = Date.parse(lost.shipments[0].recalledAt);
  const entry = lost.history.find((h: { action: string }) => h.action === 'recall_lost');
  expect(entry).toMatchObject({ from: 'CANCELLED', to: 'CANCELLED', actor: 'system', reason: gone });
  expect(Date.parse(entry.at) - recall).toBeGreaterThanOrEqual(4000);
  // Its units are not on hand to restock; what never left is back.
  expect(await stockAt(x)).toEqual([{ location: gone, onHand: 3, reserved: 0, available: 3 }]);
  expect(await stockAt(y)).toEqual([{ location: slow, onHand: 5, reserved: 0, available: 5 }]);
  await expectBooksBalance(db, [x, y]);
  expect(await workflowResult(id)).toMatchObject({ status: 'CANCELLED' });
  // The lost parcel's fulfilment, which waited for the carrier's news too, ends with it.
  const temporal = await testTemporal();
  try {
    const fulfilment = temporal.client.workflow.getHandle(`${id}-fulfil-${gone}`);
    await expect(fulfilment.result()).rejects.toThrow();
    expect((await fulfilment.describe()).status.name).toBe('CANCELLED');
  } finally {
    await temporal.close();
  }

  // The carrier brings it back after all: both workflows have ended, so the webhook records it.
  const back = await recordedLate(id, gone, {}, 'recall_returned_late');
  expect(back.attention).toBeUndefined();
  expect(back.shipments[0]).toMatchObject({ status: 'delivery_failed' });
  expect(back.fulfilments).toEqual(
    expect.arrayContaining([expect.objectContaining({ location: gone, status: 'delivery_failed' })]),
  );
  expect(await stockAt(x)).toEqual([{ location: gone, onHand: 5, reserved: 0, available: 5 }]);
  const events = (await api('GET', `/v1/orders/${id}/events`, merchant)).body.items as { type: string }[];
  expect(events.filter((e) => e.type === 'shipment.returned')).toHaveLength(1);
  // The same news again, twice at once under new event ids: nothing more.
  expect(await Promise.all([sendNewsNow(id), sendNewsNow(id)])).toEqual([
    'delivery_failed',
    'delivery_failed',
  ]);
  const after = await waitForOrder(id, support, () => true, 5_000, services.apiUrl);
  expect(historyOf(after).filter((a) => a === 'recall_returned_late')).toHaveLength(1);
  expect(await stockAt(x)).toEqual([{ location: gone, onHand: 5, reserved: 0, available: 5 }]);
  await expectBooksBalance(db, [x, y]);
}, 90_000);

test('a given-up recalled parcel delivered after all: recorded and flagged again, nothing restocked or refunded, once', async () => {
  const { gone, x, id, owner } = await cancelledWithParcelOut('wd');
  const lost = await givenUp(id);
  expect(await workflowResult(id)).toMatchObject({ status: 'CANCELLED' });
  // Released, the carrier delivers it despite the recall: the webhook records it, as the workflow would have.
  const delivered = await recordedLate(id, gone, { ignoreRecall: true }, 'recall_delivered_late');
  // Support is asked afresh: the customer has goods the cancel refunded.
  expect(delivered.attention).toMatchObject({ code: 'recall_failed', detail: gone });
  expect(Date.parse(delivered.attention.at)).toBeGreaterThan(Date.parse(lost.attention.at));
  expect(delivered.shipments[0]).toMatchObject({ status: 'delivered', recalledAt: expect.any(String) });
  expect(delivered.fulfilments).toEqual(
    expect.arrayContaining([expect.objectContaining({ location: gone, status: 'delivered' })]),
  );
  expect({ amounts: delivered.amounts, paymentStatus: delivered.paymentStatus }).toEqual({
    amounts: lost.amounts,
    paymentStatus: lost.paymentStatus,
  });
  expect(delivered.allowedActions).toEqual([]);
  expect((await api('GET', `/v1/orders/${id}`, owner)).body.order).not.toHaveProperty('attention');
  // Nothing back on hand: those units are the customer's.
  expect(await stockAt(x)).toEqual([{ location: gone, onHand: 3, reserved: 0, available: 3 }]);
  const typesOf = async () =>
    ((await api('GET', `/v1/orders/${id}/events`, merchant)).body.items as { type: string }[]).map(
      (e) => e.type,
    );
  const types = await typesOf();
  expect(types.filter((t) => t === 'shipment.delivered')).toHaveLength(1);
  expect(types.filter((t) => t === 'shipment.returned' || t === 'order.refunded')).toEqual([]);
  // The same news again, twice at once under new event ids: nothing more.
  expect(await Promise.all([sendNewsNow(id), sendNewsNow(id)])).toEqual(['delivered', 'delivered']);
  const after = await waitForOrder(id, support, () => true, 5_000, services.apiUrl);
  expect(historyOf(after).filter((a) => a === 'recall_delivered_late')).toHaveLength(1);
  expect((await typesOf()).filter((t) => t === 'shipment.delivered')).toHaveLength(1);
  expect(await stockAt(x)).toEqual([{ location: gone, onHand: 3, reserved: 0, available: 3 }]);
  await expectBooksBalance(db, [x]);
}, 90_000);
