/**
 * The sandbox warehouse in tests of FULFILMENT=warehouse: its locations and their switches, stock
 * there, paid orders, against an API of the test's own (its address read when called).
 */
import { randomUUID } from 'node:crypto';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder, type As } from './api';
import { testTemporal } from './backends';
import { SIGNATURE_HEADER, signature } from '../../codec/webhook-signature';

export function warehouseKit(apiUrl: () => string) {
  const api = (method: string, path: string, as: As, body?: object) =>
    call(method, path, { as, baseUrl: apiUrl(), body: method === 'GET' ? undefined : (body ?? {}) });
  const warehouse = (path: string, init?: { method: string; body: object }) =>
    fetch(`${process.env.WAREHOUSE_URL}${path}`, {
      method: init?.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      body: init ? JSON.stringify(init.body) : undefined,
    }).then((r) => r.json() as Promise<any>);

  async function location(prefix: string, priority: number, switches: object = {}) {
    const id = `${prefix}-${randomUUID().slice(0, 8)}`;
    expect((await api('PUT', `/v1/locations/${id}`, merchant, { name: id, priority })).status).toBe(201);
    await warehouse(`/v1/sandbox/locations/${id}`, { method: 'PUT', body: switches });
    return id;
  }

  async function stocked(sku: string, at: Record<string, number>) {
    await putProduct(sku, { stock: 0, price: 1500 }, apiUrl());
    for (const [loc, onHand] of Object.entries(at))
      expect((await api('PUT', `/v1/products/${sku}/stock/${loc}`, merchant, { onHand })).status).toBe(200);
  }

  async function paidOrder(items: { sku: string; quantity: number }[], paymentToken = 'tok_ok') {
    const owner = customer();
    const created = await api('POST', '/v1/orders', owner, { items });
    expect(created.status).toBe(201);
    const id = created.body.order.id as string;
    expect((await api('POST', `/v1/orders/${id}/pay`, owner, { paymentToken })).status).toBe(200);
    return { id, owner };
  }

  /**
   * Two locations (priorities 1 and 2, each misbehaving as its switches say), a SKU of each stocked
   * 5 there, and an order of one unit of each, paid with `paymentToken`.
   */
  async function twoLocationOrder(
    first: [string, object?],
    second: [string, object?],
    paymentToken = 'tok_ok',
  ) {
    const [a, b] = [await location(first[0], 1, first[1]), await location(second[0], 2, second[1])];
    const [x, y] = [uniqueSku(first[0]), uniqueSku(second[0])];
    await stocked(x, { [a]: 5 });
    await stocked(y, { [b]: 5 });
    const { id, owner } = await paidOrder(
      [
        { sku: x, quantity: 1 },
        { sku: y, quantity: 1 },
      ],
      paymentToken,
    );
    return { a, b, x, y, id, owner };
  }

  /**
   * Partly shipped, then cancelled: a location's parcel (2 of x) is with the carrier, which keeps
   * it until its switches change, and the other location (1 of y) has not picked yet.
   */
  async function cancelledWithParcelOut(prefix: string) {
    const [gone, slow] = [
      await location(`${prefix}gone`, 1, { stallAfter: 'shipped' }),
      await location(`${prefix}slow`, 2, { stallAfter: 'accepted' }),
    ];
    const [x, y] = [uniqueSku(`${prefix}x`), uniqueSku(`${prefix}y`)];
    await stocked(x, { [gone]: 5 });
    await stocked(y, { [slow]: 5 });
    const { id, owner } = await paidOrder([
      { sku: x, quantity: 2 },
      { sku: y, quantity: 1 },
    ]);
    await waitForOrder(id, owner, (o) => o.status === 'PARTIALLY_SHIPPED', 30_000, apiUrl());
    const cancelled = await api('POST', `/v1/orders/${id}/cancel`, owner, { reason: 'changed my mind' });
    expect(cancelled.status).toBe(200);
    return { gone, slow, x, y, id, owner, order: cancelled.body.order };
  }

  /** A product's stock per location. */
  const stockAt = async (sku: string) =>
    (await api('GET', `/v1/products/${sku}`, merchant)).body.stock.locations;

  /** The warehouse's news of the order's first fulfilment as it stands, sent now under a new event id (signed). */
  async function sendNewsNow(orderId: string) {
    const [object] = (await warehouse(`/v1/fulfilments?order_id=${orderId}`)).data;
    const body = JSON.stringify({
      id: `whe_${randomUUID()}`,
      type: `fulfilment.${object.status}`,
      data: { object },
    });
    const reply = await fetch(`${apiUrl()}/v1/inbound/fulfilment`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signature(process.env.WAREHOUSE_WEBHOOK_SECRET!, body, Date.now()),
      },
      body,
    });
    expect(reply.status).toBe(200);
    return object.status as string;
  }

  return {
    api,
    warehouse,
    location,
    stocked,
    paidOrder,
    twoLocationOrder,
    cancelledWithParcelOut,
    stockAt,
    sendNewsNow,
  };
}

/** What the order's workflow ended with (waiting for it to end). */
export async function workflowResult(id: string) {
  const temporal = await testTemporal();
  try {
    return await temporal.client.workflow.getHandle(id).result();
  } finally {
    await temporal.close();
  }
}

export const historyOf = (o: { history: { action: string }[] }) => o.history.map((h) => h.action);
