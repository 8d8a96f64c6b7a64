/**
 * A capture after shipment that got no answer is tried again until it is answered, whatever flag
 * stands on the order: the workflow keeps its own word that the capture is owed; a refused capture
 * flags the order whatever stood. With PAYMENT_CAPTURE=on_shipment, the sandbox warehouse
 * shipping, and the shared sandbox provider, whose tok_capture_unanswered captures answer 503
 * until the test switches its order's to answered.
 */
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { support, uniqueSku, waitForOrder } from '../support/api';
import { providerPayments, testDb } from '../support/backends';
import { startOwnServices, type OwnServices } from '../support/own-services';
import { historyOf, warehouseKit, workflowResult } from '../support/warehouse';

let services: OwnServices;
const db = testDb();
beforeAll(async () => {
  services = await startOwnServices('capture-retries', {
    FULFILMENT: 'warehouse',
    PAYMENT_CAPTURE: 'on_shipment',
    PAYMENT_CAPTURE_RETRY: '2s',
    AFTER_SALES_WINDOW: '2s',
  });
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
  await db.destroy();
});

const { api, warehouse, location, stocked, paidOrder } = warehouseKit(() => services.apiUrl);
const audit = (ids: string[]) =>
  auditMoney(db, new HttpPaymentProvider(services.env.PAYMENT_PROVIDER_URL!), ids);
/** The provider's bad day is over for this order: its captures are answered. */
const answerCaptures = (id: string) =>
  fetch(`${services.env.PAYMENT_PROVIDER_URL}/v1/sandbox/captures/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ answer: true }),
  });
const until = (id: string, predicate: (o: any) => boolean, ms: number) =>
  waitForOrder(id, support, predicate, ms, services.apiUrl);

test('a capture without an answer goes on being tried after a failed delivery takes the flag, and is taken once answered', async () => {
  // A location whose parcel stays with the carrier until the test fails its delivery.
  const loc = await location('cr', 1, { stallAfter: 'in_transit' });
  const sku = uniqueSku('cr');
  await stocked(sku, { [loc]: 3 });
  const { id, owner } = await paidOrder([{ sku, quantity: 1 }], 'tok_capture_unanswered');
  const total = (await api('GET', `/v1/orders/${id}`, owner)).body.order.amounts.total as number;

  // Shipped by the warehouse; its capture got no answer: flagged, the money still only held.
  const shipped = await until(
    id,
    (o) => o.status === 'SHIPPED' && o.attention?.detail === 'no_answer',
    40_000,
  );
  expect(shipped.amounts).toMatchObject({ paid: 0, authorized: total });
  // Confirmed and past its after-sales window, so a failed delivery is support's, not a refund.
  expect((await api('POST', `/v1/orders/${id}/confirm`, owner)).status).toBe(200);
  await until(id, (o) => o.status === 'COMPLETED', 20_000);
  await warehouse(`/v1/sandbox/locations/${loc}`, { method: 'PUT', body: { failDelivery: true } });
  const flagged = await until(id, (o) => o.attention?.code === 'delivery_failed', 20_000);
  const tries = (o: any) => historyOf(o).filter((a) => a === 'capture_failed').length;

  // Still tried under the other flag, which each failed try leaves standing.
  const retried = await until(id, (o) => tries(o) > tries(flagged), 30_000);
  expect(retried.attention).toMatchObject({ code: 'delivery_failed', detail: loc });

  // The provider answers again: the hold is captured, and the delivery's flag stays for support.
  expect((await answerCaptures(id)).status).toBe(200);
  const captured = await until(id, (o) => historyOf(o).includes('payment_captured'), 40_000);
  expect(captured).toMatchObject({
    status: 'COMPLETED',
    amounts: { paid: total, authorized: 0 },
    attention: { code: 'delivery_failed', detail: loc },
  });
  expect(await providerPayments(id)).toEqual([
    expect.objectContaining({ status: 'succeeded', amount_captured: total }),
  ]);
  // Nothing is owed any more: the workflow ends.
  expect(await workflowResult(id)).toMatchObject({ status: 'COMPLETED' });
  expect(await audit([id])).toEqual([]);
}, 150_000);

test('a capture refused at shipment flags the order even while another flag (a refused part) stands', async () => {
  const [ok, no] = [await location('crok', 1), await location('crno', 2, { refuse: true })];
  const [x, y] = [uniqueSku('crx'), uniqueSku('cry')];
  await stocked(x, { [ok]: 5 });
  await stocked(y, { [no]: 5 });
  const { id } = await paidOrder(
    [
      { sku: x, quantity: 1 },
      { sku: y, quantity: 1 },
    ],
    'tok_capture_fails',
  );
  await until(
    id,
    (o) => o.status === 'PARTIALLY_SHIPPED' && o.attention?.code === 'fulfilment_refused',
    30_000,
  );
  // Support refunds the refused unit (the hold shrinks): the rest has shipped, so the order ships,
  // and its capture is declined.
  const refund = await api('POST', `/v1/orders/${id}/refunds`, support, {
    items: [{ sku: y, quantity: 1 }],
    reason: 'the location could not send it',
  });
  expect(refund.status).toBe(201);
  const shipped = await until(id, (o) => o.status === 'SHIPPED', 20_000);
  expect(shipped.attention).toMatchObject({ code: 'capture_failed', detail: 'card_declined' });
  expect(shipped.amounts).toMatchObject({ paid: 0 });
}, 90_000);

test('a parcel back at its sender while the capture has no answer is not refunded by the system: support is asked, and the capture goes on', async () => {
  const loc = await location('crrts', 1, { stallAfter: 'in_transit' });
  const sku = uniqueSku('crrts');
  await stocked(sku, { [loc]: 3 });
  const { id } = await paidOrder([{ sku, quantity: 1 }], 'tok_capture_unanswered');
  const shipped = await until(
    id,
    (o) => o.status === 'SHIPPED' && o.attention?.detail === 'no_answer',
    40_000,
  );
  const total = shipped.amounts.total as number;
  await warehouse(`/v1/sandbox/locations/${loc}`, { method: 'PUT', body: { failDelivery: true } });
  const flagged = await until(id, (o) => o.attention?.code === 'delivery_failed', 20_000);
  // The hold is not shrunk for a refund the money may not be there for: nothing refunded, nothing restocked.
  expect(flagged).toMatchObject({ status: 'SHIPPED', amounts: { refunded: 0, paid: 0, authorized: total } });
  expect(historyOf(flagged)).not.toContain('refund');
  expect((await answerCaptures(id)).status).toBe(200);
  const captured = await until(id, (o) => historyOf(o).includes('payment_captured'), 40_000);
  expect(captured).toMatchObject({ amounts: { paid: total, authorized: 0, refunded: 0 } });
  // Now support refunds the parcel's money, as the flag asks.
  const refund = await api('POST', `/v1/orders/${id}/refunds`, support, { reason: 'returned to sender' });
  expect(refund.status).toBe(201);
  expect(await audit([id])).toEqual([]);
}, 120_000);
