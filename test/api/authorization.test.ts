/**
 * Issue 9: who gets 2xx, 401, 403 or 404 on every route. A customer never learns that someone
 * else's order exists (404), nor does a channel learn of another channel's. Order actions use an unpaid order, so an authorised caller gets the
 * state's answer (409, or 402 for a declined card) rather than changing it.
 */
import { randomUUID } from 'node:crypto';
import { call, customer, merchant, putProduct, support, uniqueSku, type As } from '../support/api';

type Who = 'none' | 'owner' | 'other' | 'merchant' | 'support' | 'channel';
const WHO: Who[] = ['none', 'owner', 'other', 'merchant', 'support', 'channel'];

test('the role × route matrix', async () => {
  const sku = uniqueSku('authz');
  await putProduct(sku, { stock: 10 });
  const owner = customer();
  const orderId = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 1 }] } }))
    .body.order.id;
  const code = `AZ-${randomUUID().slice(0, 8)}`;
  await call('PUT', `/v1/promotions/${code}`, { as: merchant, body: { kind: 'fixed', value: 10 } });
  // A partner's system: it sees its own channel's orders only (the owner's is the web shop's).
  const channel: As = { role: 'channel', id: 'partner-app', channel: 'partner-authz' };
  const as: Record<Who, As | undefined> = {
    none: undefined,
    owner,
    other: customer(),
    merchant,
    support,
    channel,
  };
  const address = { name: 'A', line1: '1 St', city: 'X', postalCode: '1', country: 'DE' };

  //            route                                                    none owner other merchant support channel
  const matrix: [string, string, unknown, [number, number, number, number, number, number]][] = [
    [
      'PUT',
      `/v1/products/${sku}`,
      { name: 'P', price: 1000, currency: 'USD', kind: 'physical', stock: 10 },
      [401, 403, 403, 200, 200, 403],
    ],
    ['GET', `/v1/products/${sku}`, undefined, [401, 200, 200, 200, 200, 200]],
    ['PUT', `/v1/promotions/${code}`, { kind: 'fixed', value: 10 }, [401, 403, 403, 200, 200, 403]],
    ['GET', `/v1/promotions/${code}`, undefined, [401, 403, 403, 200, 200, 403]],
    ['PUT', `/v1/members/${owner.id}`, { tier: 'silver' }, [401, 403, 403, 200, 200, 403]],
    ['GET', `/v1/members/${owner.id}`, undefined, [401, 403, 403, 200, 200, 403]],
    ['GET', '/v1/orders', undefined, [401, 200, 200, 200, 200, 200]],
    ['GET', `/v1/orders/${orderId}`, undefined, [401, 200, 404, 200, 200, 404]],
    ['PATCH', `/v1/orders/${orderId}`, { shippingAddress: address }, [401, 200, 404, 200, 200, 404]],
    ['POST', `/v1/orders/${orderId}/pay`, { paymentToken: 'tok_declined' }, [401, 402, 404, 403, 403, 404]],
    [
      'POST',
      `/v1/orders/${orderId}/ship`,
      { carrier: 'x', trackingNumber: 'y' },
      [401, 403, 404, 409, 403, 404],
    ],
    ['POST', `/v1/orders/${orderId}/confirm`, {}, [401, 409, 404, 403, 403, 404]],
    ['POST', `/v1/orders/${orderId}/refunds`, { reason: 'r' }, [401, 403, 404, 409, 409, 404]],
    [
      'POST',
      `/v1/orders/${orderId}/returns`,
      { items: [{ sku, quantity: 1 }], reason: 'r' },
      [401, 409, 404, 403, 403, 404],
    ],
    ['GET', `/v1/returns/ret_${randomUUID().replace(/-/g, '')}`, undefined, [401, 404, 404, 404, 404, 403]],
    [
      'POST',
      `/v1/orders/${orderId}/claims`,
      { items: [{ sku, quantity: 1 }], kind: 'damaged', resolution: 'refund', reason: 'r' },
      [401, 409, 404, 403, 403, 404],
    ],
    ['GET', `/v1/claims/clm_${randomUUID().replace(/-/g, '')}`, undefined, [401, 404, 404, 404, 404, 403]],
    ['GET', '/v1/claims', undefined, [401, 200, 200, 200, 200, 403]],
    [
      'POST',
      `/v1/orders/${orderId}/exchanges`,
      { returnItems: [{ sku, quantity: 1 }], newItems: [{ sku, quantity: 1 }], reason: 'r' },
      [401, 409, 404, 403, 403, 404],
    ],
    ['GET', `/v1/exchanges/exc_${randomUUID().replace(/-/g, '')}`, undefined, [401, 404, 404, 404, 404, 403]],
    ['GET', '/v1/exchanges', undefined, [401, 200, 200, 200, 200, 403]],
    ['POST', `/v1/orders/${orderId}/edits`, { add: [{ sku, quantity: 1 }] }, [401, 201, 404, 201, 201, 404]],
    [
      'GET',
      `/v1/order-edits/edt_${randomUUID().replace(/-/g, '')}`,
      undefined,
      [401, 404, 404, 404, 404, 404],
    ],
    ['POST', '/v1/orders', { items: [{ sku, quantity: 1 }] }, [401, 201, 201, 403, 403, 400]],
    ['GET', '/v1/order-types', undefined, [200, 200, 200, 200, 200, 200]],
  ];

  const got: string[] = [];
  const want: string[] = [];
  for (const [method, path, body, expected] of matrix) {
    for (const [i, who] of WHO.entries()) {
      const reply = await call(method, path, { as: as[who], body });
      got.push(`${method} ${path} as ${who}: ${reply.status}`);
      want.push(`${method} ${path} as ${who}: ${expected[i]}`);
      if (reply.status >= 400)
        expect(reply.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
  }
  expect(got).toEqual(want);

  // Lists: a customer sees its own orders only, whatever customerId it asks for.
  const mine = await call('GET', `/v1/orders?customerId=${as.other!.id}&limit=100`, { as: owner });
  expect(mine.body.items.length).toBeGreaterThan(0);
  expect(mine.body.items.every((o: any) => o.customerId === owner.id)).toBe(true);
  const bad = await call('GET', '/v1/orders', { headers: { authorization: 'Bearer not-a-jwt' } });
  expect(bad.status).toBe(401);
});

test('list pagination: cursors walk every order once, newest first', async () => {
  const sku = uniqueSku('page');
  await putProduct(sku, { stock: 50 });
  const who = customer();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++)
    ids.push(
      (await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 1 }] } })).body.order.id,
    );
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const reply: any = await call('GET', `/v1/orders?limit=3${cursor ? `&cursor=${cursor}` : ''}`, {
      as: who,
    });
    expect(reply.status).toBe(200);
    seen.push(...reply.body.items.map((o: any) => o.id));
    cursor = reply.body.nextCursor;
    if (!cursor) break;
  }
  expect(seen).toEqual([...ids].reverse());
  expect((await call('GET', '/v1/orders?limit=1000', { as: who })).status).toBe(400);
  expect(
    (await call('GET', `/v1/orders?status=PENDING_PAYMENT&limit=100`, { as: merchant })).body.items.every(
      (o: any) => o.status === 'PENDING_PAYMENT',
    ),
  ).toBe(true);
});
