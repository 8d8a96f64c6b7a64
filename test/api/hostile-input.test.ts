/**
 * Issue 17: the probes an attacker sent, each as a regression test against the running stack.
 * Bad input is a 4xx naming the field, and changes nothing; no token reaches the log; the codec
 * server answers staff tokens only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { signToken } from '../../api/auth';
import {
  apiUrl,
  call,
  customer,
  merchant,
  putProduct,
  support,
  uniqueSku,
  waitForOrder,
  type As,
} from '../support/api';
import { testDb } from '../support/backends';
import { TEST_SECRET, tokenFor } from '../support/tokens';

const db = testDb();
afterAll(() => db.destroy());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request with a raw JSON text (numbers JSON.stringify cannot write, keys it would escape). */
async function raw(method: string, path: string, as: As, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${apiUrl()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokenFor(as.role, as.id)}`,
      'content-type': 'application/json',
      ...headers,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

const paths = (reply: { body: any }) => (reply.body.errors ?? []).map((e: any) => e.path.join('.'));

async function placedOrder(stock = 5) {
  const sku = uniqueSku('hostile');
  await putProduct(sku, { stock, price: 1500 });
  const who = customer();
  const placed = await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 1 }] } });
  expect(placed.status).toBe(201);
  return { sku, who, id: placed.body.order.id as string };
}

test('a lone surrogate in couponCode is a 400 naming the field, and nothing is placed', async () => {
  const sku = uniqueSku('coupon');
  await putProduct(sku, { stock: 3 });
  const who = customer();
  for (const couponCode of ['\ud800', 'A\u0000B', 'X\udfffY']) {
    const reply = await call('POST', '/v1/orders', {
      as: who,
      body: { items: [{ sku, quantity: 1 }], couponCode },
    });
    expect(reply.status).toBe(400);
    expect(reply.headers.get('content-type')).toMatch(/problem\+json/);
    expect(paths(reply)).toEqual(['couponCode']);
  }
  expect(await db('orders').where({ customer_id: who.id })).toHaveLength(0);
  expect((await db('stock_levels').where({ sku }).first('reserved')).reserved).toBe(0);
  // The service is fine afterwards: the same customer places an order.
  expect(
    (await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 1 }] } })).status,
  ).toBe(201);
});

test('text PostgreSQL cannot store is a 400 on every action, and the order does not move', async () => {
  const { id, who } = await placedOrder();
  const before = (await call('GET', `/v1/orders/${id}`, { as: who })).body.order;
  const probes: [string, string, As, unknown, string][] = [
    ['POST', `/v1/orders/${id}/cancel`, who, { reason: 'bye\u0000' }, 'reason'],
    ['POST', `/v1/orders/${id}/cancel`, who, { reason: 'bye\ud800' }, 'reason'],
    ['POST', `/v1/orders/${id}/pay`, who, { paymentToken: 'tok_ok\u0000' }, 'paymentToken'],
    ['POST', `/v1/orders/${id}/pay`, who, { paymentToken: 'tok_\ud83d' }, 'paymentToken'],
    ['POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS\u0000', trackingNumber: '1Z' }, 'carrier'],
    ['POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'UPS', trackingNumber: '1Z\n' }, 'trackingNumber'],
    [
      'POST',
      `/v1/orders/${id}/returns`,
      who,
      { items: [{ sku: 'x', quantity: 1 }], reason: 'r\u0000' },
      'reason',
    ],
    ['POST', `/v1/orders/${id}/refunds`, merchant, { reason: '\u001b[2J' }, 'reason'],
    [
      'PATCH',
      `/v1/orders/${id}`,
      who,
      { shippingAddress: { name: 'Ann\u0000', line1: 'x', city: 'y', postalCode: '1', country: 'NL' } },
      'shippingAddress.name',
    ],
  ];
  for (const [method, url, as, body, field] of probes) {
    const reply = await call(method, url, { as, body });
    expect({ url, field, status: reply.status, paths: paths(reply) }).toEqual({
      url,
      field,
      status: 400,
      paths: [field],
    });
  }
  const after = (await call('GET', `/v1/orders/${id}`, { as: who })).body.order;
  expect(after.status).toBe('PENDING_PAYMENT');
  expect(after.allowedActions).toEqual(before.allowedActions);
  expect(after.history).toEqual(before.history);
  // And it still works: the customer pays, for real.
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: who, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  expect(paid.body.order.status).toBe('PAID');
});

test('a product name with NUL, a NUL status filter, bad cursors and bad percent-encoding are 400s', async () => {
  const sku = uniqueSku('name');
  const named = await call('PUT', `/v1/products/${sku}`, {
    as: merchant,
    body: { name: 'Mug\u0000', price: 100, currency: 'USD', kind: 'physical', stock: 1 },
  });
  expect(named.status).toBe(400);
  expect(paths(named)).toEqual(['name']);
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).status).toBe(404);

  const who = customer();
  const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  for (const query of [
    'status=%00',
    'status=PAID%ED%A0%80', // a lone surrogate, percent-encoded
    `cursor=${cursor({ createdAt: 'not a date', id: 'ord_1', of: '-createdAt' })}`,
    `cursor=${cursor({ createdAt: '+275760-09-13T00:00:00.000Z', id: 'ord_1', of: '-createdAt' })}`,
    `cursor=${cursor({ createdAt: '2026-01-01T00:00:00.000Z', id: "x' OR 1=1", of: '-createdAt' })}`,
    'cursor=%F0%9F',
    'limit=1e400',
  ]) {
    const reply = await call('GET', `/v1/orders?${query}`, { as: who });
    expect({ query, status: reply.status }).toEqual({ query, status: 400 });
  }
  for (const url of ['/v1/returns/%ZZ', '/v1/orders/%E0%A4%A', '/v1/products/%C0%80']) {
    const reply = await call('GET', url, { as: merchant });
    expect({ url, status: reply.status }).toEqual({ url, status: 400 });
    expect(reply.headers.get('content-type')).toMatch(/problem\+json/);
    // Every 400 lists `errors`, in the service's words where no schema spoke.
    expect(reply.body.errors).toEqual([
      { path: [], message: 'the path is not valid percent-encoding', code: 'custom' },
    ]);
  }
});

test('huge numbers: a total past 2^53 is 422 AMOUNT_TOO_LARGE; numbers JSON cannot hold are 400', async () => {
  // 100 lines (a SKU each: one named twice is one line) of 1000 units at 10^11 minor units: 10^16,
  // past Number.MAX_SAFE_INTEGER.
  const skus = Array.from({ length: 100 }, () => uniqueSku('huge'));
  for (let i = 0; i < skus.length; i += 10)
    await Promise.all(
      skus.slice(i, i + 10).map((s) => putProduct(s, { price: 100_000_000_000, stock: 100_000_000 })),
    );
  const sku = skus[0]!;
  const who = customer();
  const items = skus.map((s) => ({ sku: s, quantity: 1000 }));
  const reply = await call('POST', '/v1/orders', { as: who, body: { items } });
  expect(reply.status).toBe(422);
  expect(reply.body).toMatchObject({ code: 'AMOUNT_TOO_LARGE', max: Number.MAX_SAFE_INTEGER });
  expect(await db('orders').where({ customer_id: who.id })).toHaveLength(0);

  for (const quantity of ['1e400', '-0', '1.5', '9007199254740993', '"1"', 'null', '[1]']) {
    const r = await raw('POST', '/v1/orders', who, `{"items":[{"sku":"${sku}","quantity":${quantity}}]}`);
    expect({ quantity, status: r.status }).toEqual({ quantity, status: 400 });
  }
  const deep = `{"items":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  expect((await raw('POST', '/v1/orders', who, deep)).status).toBe(400);
  // Deeper than JSON.stringify recurses, under a key (its digest reads the body before any schema): a 400 too.
  const deeper = `{"items":${'['.repeat(49_000)}${']'.repeat(49_000)}}`;
  const key = randomUUID();
  expect((await raw('POST', '/v1/orders', who, deeper, { 'idempotency-key': key })).status).toBe(400);
  // (Where V8's JSON.stringify does not recurse, the schema's 400 is what the key keeps.)
  for (const row of await db('idempotency_keys').where({ key })) expect(row.status).toBe(400);
});

test('a key the body should not have, NUL in its name, is a 400 that can be stored and replayed', async () => {
  const { sku, who } = await placedOrder();
  const key = randomUUID();
  const body = `{"items":[{"sku":"${sku}","quantity":1}],"\\u0000\\ud800":1}`;
  const first = await raw('POST', '/v1/orders', who, body, { 'idempotency-key': key });
  expect(first.status).toBe(400);
  expect(JSON.stringify(first.body)).not.toMatch(/\\u0000|\\ud800/);
  const again = await raw('POST', '/v1/orders', who, body, { 'idempotency-key': key });
  expect(again.status).toBe(400);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.body).toEqual(first.body);
  for (const bad of ['', 'k\u00e9y', 'a'.repeat(201), 'two words']) {
    const reply = await call('POST', '/v1/orders', {
      as: who,
      body: { items: [{ sku, quantity: 1 }] },
      headers: { 'idempotency-key': bad },
    });
    expect({ bad, status: reply.status }).toEqual({ bad, status: 400 });
  }
});

test('bearer tokens never reach the log', async () => {
  const who = customer();
  const token = tokenFor('customer', who.id);
  const requestId = `probe-${randomUUID()}`;
  const reply = await fetch(`${apiUrl()}/v1/orders`, {
    headers: { authorization: `Bearer ${token}`, cookie: `session=${token}`, 'x-request-id': requestId },
  });
  expect(reply.status).toBe(200);
  const log = path.resolve(__dirname, '..', '..', '.data', 'test-logs', 'stack.log');
  // The log is written as lines arrive from the API process: wait (bounded) for this request's line.
  let text = '';
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
    text = await readFile(log, 'utf8');
    if (text.includes(requestId)) break;
  }
  expect(text).toContain(requestId);
  expect(text).not.toContain(token);
  expect(text).not.toContain(token.split('.')[2]!);
  expect(text).not.toMatch(/"authorization"/i);
});

test('tokens must expire, and not too far ahead; sub must be an id', async () => {
  const forever = jwt.sign({ sub: 'cus_forever', role: 'customer' }, TEST_SECRET, { algorithm: 'HS256' });
  const longLived = signToken(TEST_SECRET, 'cus_long', 'customer', { expiresIn: '400d' });
  const oddSub = signToken(TEST_SECRET, 'cus\u0000x', 'customer');
  for (const token of [forever, longLived, oddSub, 'not.a.token', `${forever}x`]) {
    const reply = await fetch(`${apiUrl()}/v1/orders`, { headers: { authorization: `Bearer ${token}` } });
    expect(reply.status).toBe(401);
  }
});

describe('the codec server', () => {
  const ui = () => process.env.TEST_TEMPORAL_UI_URL!.replace('localhost', '127.0.0.1');
  const post = (url: string, headers: Record<string, string>, body: unknown = { payloads: [] }) =>
    fetch(`${apiUrl()}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('a staff token is always required, from an allowed origin too', async () => {
    expect((await post('/codec/decode', { origin: ui() })).status).toBe(401);
    expect((await post('/codec/decode', { origin: 'http://evil.example' })).status).toBe(401);
    expect((await post('/codec/decode', { authorization: `Bearer ${tokenFor('support')}` })).status).toBe(
      200,
    );
    // The Web UI, which cannot send a header, carries a codec token in the endpoint's path, where
    // logs keep it: good for the codec server alone. A token that could act on orders is refused there.
    const codec = (role: 'support' | 'customer') =>
      signToken(TEST_SECRET, 'temporal-web-ui', role, { scope: 'codec' });
    expect((await post(`/codec/${codec('support')}/decode`, {})).status).toBe(200);
    expect((await post('/codec/decode', { authorization: `Bearer ${codec('support')}` })).status).toBe(200);
    expect((await post(`/codec/${tokenFor('support', 'temporal-web-ui')}/decode`, {})).status).toBe(401);
    expect((await post(`/codec/${codec('customer')}/decode`, {})).status).toBe(403);
    expect((await post('/codec/not-a-token/decode', {})).status).toBe(401);
    const onOrders = await fetch(`${apiUrl()}/v1/orders`, {
      headers: { authorization: `Bearer ${codec('support')}` },
    });
    expect(onOrders.status).toBe(401);
  });

  // The dev server's Web UI is the listed origin; the cluster topology (npm run test:cluster) has no UI of its own.
  const withUi = process.env.TEST_TEMPORAL_UI_URL ? test : test.skip;
  withUi('CORS answers only the listed origins, and never with credentials', async () => {
    const preflight = (origin: string) =>
      fetch(`${apiUrl()}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const allowed = await preflight(ui());
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ui());
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    const evil = await preflight('http://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('payloads it cannot decode are a 400, not a 500', async () => {
    const staff = { authorization: `Bearer ${tokenFor('support')}` };
    const encrypted = (data: string, keyId = 'k1') => ({
      payloads: [
        {
          metadata: {
            encoding: Buffer.from('binary/encrypted').toString('base64'),
            'encryption-key-id': Buffer.from(keyId).toString('base64'),
          },
          data,
        },
      ],
    });
    for (const body of [
      encrypted(Buffer.from('too short').toString('base64')),
      encrypted(Buffer.alloc(64, 1).toString('base64')),
      encrypted(Buffer.alloc(64, 1).toString('base64'), 'no-such-key'),
      { payloads: [{ data: 'not base64 !' }] },
      { payloads: 'all of them' },
      { payloads: [{ metadata: { encoding: 42 } }] },
      '{"payloads": [',
    ]) {
      const reply = await post('/codec/decode', staff, body);
      expect({ body, status: reply.status }).toEqual({ body, status: 400 });
    }
  });
});

test('an Idempotency-Key left in progress by a dead API is taken over once its lease lapses', async () => {
  const sku = uniqueSku('lease');
  await putProduct(sku, { stock: 5 });
  const who = customer();
  const key = randomUUID();
  const body = { items: [{ sku, quantity: 1 }] };
  // What an API that died mid-request leaves behind: in progress, its lease run out.
  await db('idempotency_keys').insert({
    scope: `customer:${who.id}`,
    key,
    request_hash: createHash('sha256')
      .update(`POST\n/v1/orders\n${JSON.stringify(body)}`)
      .digest('hex'),
    state: 'in_progress',
    expires_at: new Date(Date.now() + 3_600_000),
    lease_until: new Date(Date.now() - 1000),
  });
  const started = Date.now();
  const reply = await call('POST', '/v1/orders', { as: who, body, headers: { 'idempotency-key': key } });
  expect(reply.status).toBe(201);
  expect(Date.now() - started).toBeLessThan(10_000);
  const again = await call('POST', '/v1/orders', { as: who, body, headers: { 'idempotency-key': key } });
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.body.order.id).toBe(reply.body.order.id);
});

test("a refund id comes from the caller and the body too: another staff member's key is their own refund", async () => {
  const sku = uniqueSku('refid');
  await putProduct(sku, { stock: 5, price: 1000 });
  const who = customer();
  const id = (await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 3 }] } })).body
    .order.id;
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: who, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  await waitForOrder(id, who, (o) => o.status === 'IN_PRODUCTION');
  const key = randomUUID();
  const refund = (as: As) =>
    call('POST', `/v1/orders/${id}/refunds`, {
      as,
      body: { items: [{ sku, quantity: 1 }], reason: 'damaged' },
      headers: { 'idempotency-key': key },
    });
  const byMerchant = await refund(merchant);
  const bySupport = await refund(support);
  expect([byMerchant.status, bySupport.status]).toEqual([201, 201]);
  expect(bySupport.body.refund.id).not.toBe(byMerchant.body.refund.id);
  const order = (await call('GET', `/v1/orders/${id}`, { as: merchant })).body.order;
  expect(order.items[0].refundedQuantity).toBe(2);
});

test('a body that is not JSON is a 415 and does nothing (it would read as no body at all)', async () => {
  const { sku, who, id } = await placedOrder();
  // A cancel's reason is optional: read as no body, a form would have cancelled the order.
  for (const [type, body] of [
    ['application/x-www-form-urlencoded', 'reason=%00'],
    ['text/plain;charset=UTF-8', JSON.stringify({ reason: 'changed my mind' })],
    ['multipart/form-data; boundary=x', '--x\r\n\r\nreason\r\n--x--'],
  ]) {
    const reply = await raw('POST', `/v1/orders/${id}/cancel`, who, body!, { 'content-type': type! });
    expect({ type, status: reply.status }).toEqual({ type, status: 415 });
    expect(reply.headers.get('content-type')).toMatch(/problem\+json/);
  }
  const placed = await raw('POST', '/v1/orders', who, JSON.stringify({ items: [{ sku, quantity: 1 }] }), {
    'content-type': 'text/plain',
  });
  expect(placed.status).toBe(415);
  expect((await call('GET', `/v1/orders/${id}`, { as: who })).body.order.status).toBe('PENDING_PAYMENT');
  expect(await db('orders').where({ customer_id: who.id })).toHaveLength(1);
  // No body at all, or JSON, still do what they did.
  expect((await call('POST', `/v1/orders/${id}/cancel`, { as: who })).status).toBe(200);
});

test('a field an action does not take is a 400 there too (an edit’s cancel); a stats window that ends before it starts is a 400', async () => {
  const { sku, who, id } = await placedOrder();
  const edit = (
    await call('POST', `/v1/orders/${id}/edits`, { as: who, body: { change: [{ sku, quantity: 2 }] } })
  ).body.edit;
  const refused = await call('POST', `/v1/order-edits/${edit.id}/cancel`, {
    as: who,
    body: { reason: 'x\u0000' },
  });
  expect(refused.status).toBe(400);
  expect((await call('GET', `/v1/order-edits/${edit.id}`, { as: who })).body.edit.status).toBe('PREVIEW');
  expect((await call('POST', `/v1/order-edits/${edit.id}/cancel`, { as: who, body: {} })).status).toBe(200);

  const window = (from: string, to: string) =>
    call('GET', `/v1/returns/stats?createdFrom=${from}&createdTo=${to}`, { as: merchant });
  const backwards = await window('2026-02-01T00:00:00Z', '2026-01-01T00:00:00Z');
  expect(backwards.status).toBe(400);
  expect(paths(backwards)).toEqual(['createdTo']);
  expect((await window('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')).status).toBe(200);
});
