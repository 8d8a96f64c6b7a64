/** Issue 9: Idempotency-Key on creates and on actions, end to end: one effect however many copies arrive. */
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Knex } from 'knex';
import { idempotency, KEY_IN_USE } from '../../api/idempotency';
import { keyedDigest } from '../../codec/secret-box';
import { problemMiddleware } from '../../api/problem';
import { createDb } from '../../db/knex';
import { call, customer, merchant, putProduct, uniqueSku } from '../support/api';
import { listedWorkflows, providerPayments, testDb, testTemporal } from '../support/backends';
import { startOwnServices } from '../support/own-services';

const db = testDb();
afterAll(() => db.destroy());

test('ten concurrent identical POST /v1/orders with one key create one order and ten identical responses', async () => {
  const sku = uniqueSku('idem');
  await putProduct(sku, { stock: 100 });
  const who = customer();
  const key = randomUUID();
  const body = { items: [{ sku, quantity: 2 }] };
  const replies = await Promise.all(
    Array.from({ length: 10 }, () =>
      call('POST', '/v1/orders', { as: who, body, headers: { 'idempotency-key': key } }),
    ),
  );
  expect(replies.map((r) => r.status)).toEqual(Array(10).fill(201));
  for (const r of replies) expect(r.body).toEqual(replies[0]!.body);
  expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);

  const id = replies[0]!.body.order.id;
  // The replays name the order as the first answer did.
  expect(replies.map((r) => r.headers.get('location'))).toEqual(Array(10).fill(`/v1/orders/${id}`));
  expect(await db('orders').where({ customer_id: who.id }).pluck('id')).toEqual([id]);
  expect((await db('stock_levels').where({ sku }).first('reserved')).reserved).toBe(2);
  const temporal = await testTemporal();
  try {
    expect(await listedWorkflows(temporal.client, `CustomerId = '${who.id}'`)).toEqual([id]);
  } finally {
    await temporal.close();
  }

  // The same key with another body is refused; another key is another order.
  const other = await call('POST', '/v1/orders', {
    as: who,
    body: { items: [{ sku, quantity: 3 }] },
    headers: { 'idempotency-key': key },
  });
  expect(other.status).toBe(409);
  expect(other.headers.get('content-type')).toMatch(/problem\+json/);
  const second = await call('POST', '/v1/orders', {
    as: who,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  expect(second.status).toBe(201);
  expect(second.body.order.id).not.toBe(id);
  // Keys belong to their caller: another customer's identical key is its own.
  const stranger = await call('POST', '/v1/orders', {
    as: customer(),
    body,
    headers: { 'idempotency-key': key },
  });
  expect(stranger.status).toBe(201);
  expect(stranger.body.order.id).not.toBe(id);
}, 60_000);

test('concurrent pays with one key charge once and all get the paid order; the key cannot pay with another card', async () => {
  const sku = uniqueSku('idempay');
  await putProduct(sku, { stock: 10, price: 2100 });
  const who = customer();
  const id = (await call('POST', '/v1/orders', { as: who, body: { items: [{ sku, quantity: 1 }] } })).body
    .order.id;
  const key = randomUUID();
  const pay = (paymentToken: string) =>
    call('POST', `/v1/orders/${id}/pay`, {
      as: who,
      body: { paymentToken },
      headers: { 'idempotency-key': key },
    });
  const replies = await Promise.all(Array.from({ length: 5 }, () => pay('tok_ok')));
  // Without the key, all but one would be refused with a 409 (already paid).
  expect(replies.map((r) => r.status)).toEqual(Array(5).fill(200));
  for (const r of replies) expect(r.body).toEqual(replies[0]!.body);
  expect(replies[0]!.body.order.amounts.paid).toBe(replies[0]!.body.order.amounts.total);
  expect((await providerPayments(id)).filter((p) => p.status === 'succeeded')).toHaveLength(1);
  expect((await pay('tok_flaky')).status).toBe(409);

  // Keys are per caller and per action: the merchant's ship with the same key is its own request.
  const ship = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'ups', trackingNumber: '1Z' },
    headers: { 'idempotency-key': key },
  });
  expect([200, 409]).toContain(ship.status); // 409 only if production has not started yet
  expect(ship.headers.get('idempotent-replayed')).toBeNull();
}, 60_000);

test('a refused create is replayed as refused, without placing anything', async () => {
  const sku = uniqueSku('idem0');
  await putProduct(sku, { stock: 1 });
  const who = customer();
  const key = randomUUID();
  const body = { items: [{ sku, quantity: 5 }] };
  const first = await call('POST', '/v1/orders', { as: who, body, headers: { 'idempotency-key': key } });
  const again = await call('POST', '/v1/orders', { as: who, body, headers: { 'idempotency-key': key } });
  expect(first.status).toBe(422);
  expect(again.status).toBe(422);
  expect(again.body).toEqual(first.body);
  expect(await db('orders').where({ customer_id: who.id })).toHaveLength(0);
});

test('a key reused once its order has ended (and the key forgotten) never places it again', async () => {
  const sku = uniqueSku('idem-ended');
  await putProduct(sku, { stock: 1 });
  const who = customer();
  const post = (key: string, quantity: number) =>
    call('POST', '/v1/orders', {
      as: who,
      body: { items: [{ sku, quantity }] },
      headers: { 'idempotency-key': key },
    });
  const key = randomUUID();
  const first = await post(key, 1);
  expect(first.status).toBe(201);
  const id = first.body.order.id;
  expect((await call('POST', `/v1/orders/${id}/cancel`, { as: who })).status).toBe(200);
  const temporal = await testTemporal();
  try {
    expect(await temporal.client.workflow.getHandle(id).result()).toMatchObject({ status: 'CANCELLED' });
    // Past IDEMPOTENCY_KEY_TTL: PostgreSQL no longer remembers the key.
    await db('idempotency_keys').where({ key }).delete();
    // Temporal answers the Update again from the ended run: the first answer, as the contract asks.
    const again = await post(key, 1);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    // One run, still closed; the stock it gave back is not held again.
    expect((await temporal.client.workflow.getHandle(id).describe()).status.name).toBe('COMPLETED');
    expect(await listedWorkflows(temporal.client, `CustomerId = '${who.id}'`)).toEqual([id]);
    expect((await db('stock_levels').where({ sku }).first('reserved')).reserved).toBe(0);

    // A create refused under a key, retried under it once forgotten: refused again, nothing placed.
    const refusedKey = randomUUID();
    const refused = await post(refusedKey, 5);
    expect(refused.body).toMatchObject({ status: 422, code: 'OUT_OF_STOCK' });
    await db('idempotency_keys').where({ key: refusedKey }).delete();
    expect((await post(refusedKey, 5)).body).toEqual(refused.body);
    expect(await db('orders').where({ customer_id: who.id })).toHaveLength(1);
  } finally {
    await temporal.close();
  }
});

test('a PUT that creates takes a key too: the first answer again (201, not 200), another body under it a 409', async () => {
  const sku = uniqueSku('idem-put');
  const key = randomUUID();
  const put = (stock: number) =>
    call('PUT', `/v1/products/${sku}`, {
      as: merchant,
      body: { name: 'Keyed', price: 700, currency: 'USD', kind: 'physical', stock },
      headers: { 'idempotency-key': key },
    });
  const first = await put(5);
  expect(first.status).toBe(201);
  const again = await put(5);
  expect(again.status).toBe(201);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.body).toEqual(first.body);
  const other = await put(9);
  expect(other.status).toBe(409);
  // Nothing changed by the refused one.
  expect((await call('GET', `/v1/products/${sku}`, { as: merchant })).body.stock.onHand).toBe(5);
  // The stock is set to 3 since; then the first request is run again under its key, as after a
  // 503 that came once it had committed (the key kept as failed): the later 3 stands.
  const later = await call('PUT', `/v1/products/${sku}`, {
    as: merchant,
    body: { name: 'Keyed', price: 700, currency: 'USD', kind: 'physical', stock: 3 },
  });
  expect(later.body.stock.onHand).toBe(3);
  await db('idempotency_keys').where({ key }).update({ state: 'failed', status: null, body: null });
  const rerun = await put(5);
  expect(rerun.status).toBe(200);
  expect(rerun.body.stock.onHand).toBe(3);
  // The same when the first request changed no stock (3 asked while 3 stood): its rerun sets nothing either.
  const unchanged = randomUUID();
  const putUnder = (stock: number) =>
    call('PUT', `/v1/products/${sku}`, {
      as: merchant,
      body: { name: 'Keyed', price: 700, currency: 'USD', kind: 'physical', stock },
      headers: { 'idempotency-key': unchanged },
    });
  expect((await putUnder(3)).body.stock.onHand).toBe(3);
  await call('PUT', `/v1/products/${sku}`, {
    as: merchant,
    body: { name: 'Keyed', price: 700, currency: 'USD', kind: 'physical', stock: 8 },
  });
  await db('idempotency_keys')
    .where({ key: unchanged })
    .update({ state: 'failed', status: null, body: null });
  expect((await putUnder(3)).body.stock.onHand).toBe(8);
  // A key forgotten (expired) and used again with the same body is a new request: it sets the stock.
  await db('idempotency_keys').where({ key: unchanged }).delete();
  expect((await putUnder(3)).body.stock.onHand).toBe(3);
  // The stock of one location takes a key as well, with the same rules.
  const level = (onHand: number) =>
    call('PUT', `/v1/products/${sku}/stock/default`, {
      as: merchant,
      body: { onHand },
      headers: { 'idempotency-key': key },
    });
  await db('idempotency_keys').where({ key }).delete();
  expect((await level(6)).body.stock.onHand).toBe(6);
  expect((await level(6)).headers.get('idempotent-replayed')).toBe('true');
  expect((await level(7)).status).toBe(409);
});

test('rate limiting per token answers 429 problem+json with Retry-After', async () => {
  const services = await startOwnServices('ratelimit', { RATE_LIMIT_PER_MINUTE: '5' });
  try {
    const who = customer();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await call('GET', '/v1/orders', { as: who, baseUrl: services.apiUrl })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await call('GET', '/v1/orders', { as: who, baseUrl: services.apiUrl });
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(limited.body).toMatchObject({ status: 429 });
    // Another token has its own budget, and so has a partner's customer of the same id.
    expect((await call('GET', '/v1/orders', { as: customer(), baseUrl: services.apiUrl })).status).toBe(200);
    const twin = { ...who, channel: 'partner-shop' };
    expect((await call('GET', '/v1/orders', { as: twin, baseUrl: services.apiUrl })).status).toBe(200);
  } finally {
    await services.stopAll();
  }
}, 90_000);

test('an answer whose key PostgreSQL is too slow to store is one 503 problem; a retry takes the key over', async () => {
  // The middleware on a database with a short statement timeout; the key's row held by another
  // transaction while the first request answers, so storing its answer (and deleting the key) times out.
  const slow = createDb(process.env.DATABASE_URL!, { pool: { min: 0, max: 3 }, queryTimeoutMs: 1000 });
  const key = randomUUID();
  let runs = 0;
  let holder: Knex.Transaction | undefined;
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    req.principal = { role: 'customer', id: 'cus_slow_store' };
    next();
  });
  app.use(idempotency(slow, { ttlMs: 60_000, leaseMs: 300 }));
  app.post('/things', async (_req, res) => {
    if (++runs === 1) {
      holder = await db.transaction();
      await holder('idempotency_keys').where({ key }).forUpdate();
    }
    res.status(201).json({ run: runs });
  });
  app.use(problemMiddleware(() => undefined));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/things`;
    const post = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: '{}',
      });
    const first = await post();
    expect(first.status).toBe(503);
    expect(first.headers.get('content-type')).toMatch(/problem\+json/);
    expect(await first.text()).not.toMatch(/idempotency_keys|update|delete/i);
    await holder!.rollback();
    // The key stayed in progress; once its lease lapses, the retry runs and its answer is kept.
    await new Promise((r) => setTimeout(r, 400));
    const retry = await post();
    expect({ status: retry.status, body: await retry.json() }).toEqual({ status: 201, body: { run: 2 } });
    const replayed = await post();
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toBe(2);
  } finally {
    await holder?.rollback().catch(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    await slow.destroy();
  }
});

test('a repeat while the first request still runs is a 409 that says so (keep the key), with Retry-After', async () => {
  const key = randomUUID();
  let release = () => {};
  let entered = () => {};
  const inHandler = new Promise<void>((r) => (entered = r));
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    req.principal = { role: 'merchant', id: 'mer_in_use' };
    next();
  });
  app.use(idempotency(db, { ttlMs: 60_000, leaseMs: 60_000, waitForFirstMs: 300 }));
  app.post('/refunds', async (_req, res) => {
    await new Promise<void>((r) => {
      release = r;
      entered();
    });
    res.status(201).json({ refunded: 1 });
  });
  app.use(problemMiddleware(() => undefined));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/refunds`;
    const post = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: '{"sku":"a"}',
      });
    const first = post();
    await inHandler; // the first holds the key: no head start to guess
    const repeat = await post();
    expect(repeat.status).toBe(409);
    expect(repeat.headers.get('retry-after')).toBe('5');
    expect(await repeat.json()).toMatchObject({ code: KEY_IN_USE });
    release();
    expect((await first).status).toBe(201);
    // Asked again with the same key, it gets the first answer: one refund.
    const again = await post();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual({ refunded: 1 });
  } finally {
    release();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a key’s stored request is a keyed digest: a webhook secret in the body cannot be guessed back from it', async () => {
  const id = `wh-${randomUUID().slice(0, 8)}`;
  const key = randomUUID();
  // Off from the start: nothing is delivered to the closed port.
  const body = (secret: string) => ({ url: 'http://127.0.0.1:9/hook', events: ['*'], secret, active: false });
  const put = (secret: string) =>
    call('PUT', `/v1/webhooks/${id}`, {
      as: merchant,
      body: body(secret),
      headers: { 'idempotency-key': key },
    });
  const secret = `whsec_${randomUUID()}`;
  const first = await put(secret);
  expect(first.status).toBe(201);
  const { request_hash: stored } = await db('idempotency_keys').where({ key }).first('request_hash');
  // What PostgreSQL holds is not the bare SHA-256 of the request a guess of the secret would rebuild.
  const bare = createHash('sha256')
    .update(`PUT\n/v1/webhooks/${id}\n${JSON.stringify(body(secret))}`)
    .digest('hex');
  expect(stored).toMatch(/^[0-9a-f]{64}$/);
  expect(stored).not.toBe(bare);
  // Known again all the same: the retry replays, another secret under the key is refused.
  const again = await put(secret);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.body).toEqual(first.body);
  expect((await put(`whsec_${randomUUID()}`)).status).toBe(409);
});

test('keys rotate under stored requests: a row under an older key or none is known again and kept under the newest', async () => {
  const key = (id: string, fill: number) => `${id}:${Buffer.alloc(32, fill).toString('base64')}`;
  const older = keyedDigest(key('k1', 1));
  const rotated = keyedDigest(`${key('k2', 2)},${key('k1', 1)}`);
  let runs = 0;
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    req.principal = { role: 'merchant', id: 'mer_rotated' };
    next();
  });
  app.use(idempotency(db, { ttlMs: 60_000, leaseMs: 60_000, digest: rotated, waitForFirstMs: 300 }));
  app.post('/things', (_req, res) => void res.status(201).json({ run: ++runs }));
  app.use(problemMiddleware(() => undefined));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/things`;
    const post = (key: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: '{"a":1}',
      });
    const request = 'POST\n/things\n{"a":1}';
    const row = (key: string, requestHash: string, answered: boolean) => ({
      scope: 'merchant:mer_rotated',
      key,
      request_hash: requestHash,
      expires_at: new Date(Date.now() + 60_000),
      ...(answered
        ? { state: 'done', status: 201, content_type: 'application/json', body: JSON.stringify({ run: 0 }) }
        : { state: 'in_progress', lease_until: new Date(Date.now() - 1000) }),
    });
    // Answered under the older key: replayed, not a 409 and not run again.
    const answered = randomUUID();
    await db('idempotency_keys').insert(row(answered, older.stored(request), true));
    const replayed = await post(answered);
    expect({ status: replayed.status, body: await replayed.json() }).toEqual({
      status: 201,
      body: { run: 0 },
    });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    // Left in progress by a process from before the keys (a bare SHA-256), its lease lapsed: taken
    // over, run once, and its answer kept under the newest key, so the next retry replays it.
    const abandoned = randomUUID();
    await db('idempotency_keys').insert(
      row(abandoned, createHash('sha256').update(request).digest('hex'), false),
    );
    expect(await (await post(abandoned)).json()).toEqual({ run: 1 });
    const kept = await db('idempotency_keys').where({ key: abandoned }).first('state', 'request_hash');
    expect(kept).toEqual({ state: 'done', request_hash: rotated.stored(request) });
    expect(await (await post(abandoned)).json()).toEqual({ run: 1 });
    expect(runs).toBe(1);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A bare app under the middleware, its one route answered by `answer` (test/api's own servers, on loopback). */
async function keyedApp(
  options: { leaseMs: number; waitForFirstMs?: number },
  answer: (body: unknown, res: express.Response) => Promise<void> | void,
) {
  const app = express();
  app.use(express.json());
  const caller = `mer_${randomUUID().slice(0, 8)}`; // one caller: its keys are shared by its requests
  app.use((req, _res, next) => {
    req.principal = { role: 'merchant', id: caller };
    next();
  });
  app.use(idempotency(db, { ttlMs: 60_000, ...options }));
  app.post('/things', (req, res, next) => void Promise.resolve(answer(req.body, res)).catch(next));
  app.use(problemMiddleware(() => undefined));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/things`;
  return {
    post: async (key: string, body: unknown) => {
      const reply = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      return {
        status: reply.status,
        replayed: reply.headers.get('idempotent-replayed'),
        body: await reply.json(),
      };
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

test('a key whose request failed takes that request again, never another body: that one is a 409', async () => {
  const ran: unknown[] = [];
  const app = await keyedApp({ leaseMs: 60_000 }, (body, res) => {
    ran.push(body);
    // The first is an outage (it may still take effect, as a 503 while no worker answered does).
    if (ran.length === 1) return void res.status(503).json({ title: 'unavailable' });
    res.status(201).json({ run: ran.length });
  });
  try {
    const key = randomUUID();
    expect((await app.post(key, { quantity: 1 })).status).toBe(503);
    expect(await app.post(key, { quantity: 2 })).toMatchObject({ status: 409 });
    expect(ran).toEqual([{ quantity: 1 }]);
    expect(await app.post(key, { quantity: 1 })).toEqual({ status: 201, replayed: null, body: { run: 2 } });
    expect(await app.post(key, { quantity: 1 })).toEqual({ status: 201, replayed: 'true', body: { run: 2 } });
  } finally {
    await app.close();
  }
});

test('a request whose lease lapsed and was taken over changes nothing when it answers late', async () => {
  const release: (() => void)[] = [];
  let runs = 0;
  // The third request's wait (150 ms) ends well before the second's lease (1 s) does.
  const app = await keyedApp({ leaseMs: 1000, waitForFirstMs: 150 }, async (_body, res) => {
    const run = ++runs;
    await new Promise<void>((resolve) => release.push(resolve));
    if (run === 1) return void res.status(503).json({ title: 'too late' });
    res.status(201).json({ run });
  });
  try {
    const key = randomUUID();
    const first = app.post(key, { a: 1 });
    await new Promise((r) => setTimeout(r, 1300)); // its lease lapses
    const second = app.post(key, { a: 1 }); // takes the key over
    while (runs < 2) await new Promise((r) => setTimeout(r, 20));
    // The first answers late, with an outage: the key stays the second's, not failed for a third to run.
    release[0]!();
    expect((await first).status).toBe(503);
    expect(await app.post(key, { a: 1 })).toMatchObject({ status: 409, body: { code: KEY_IN_USE } });
    expect(runs).toBe(2);
    release[1]!();
    expect((await second).body).toEqual({ run: 2 });
    expect(await app.post(key, { a: 1 })).toEqual({ status: 201, replayed: 'true', body: { run: 2 } });
  } finally {
    for (const r of release) r();
    await app.close();
  }
});
