/**
 * Issue 23: the order center answers questions about orders: the list by payment status (a
 * column PostgreSQL keeps, held to the domain's own rule), refunds and returns listed like
 * orders, counts and sums per group and currency, and the list exported as CSV in batches.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { seedOrders } from '../../devstack/seed-orders';
import { tokenFor } from '../../devstack/test-tokens';
import { paymentStatusOf } from '../../domain/order';
import { exportOrders } from '../../services/orders/export-orders';
import { exportInThread, MAX_EXPORTS } from '../../services/orders/export-thread';
import { listRefunds } from '../../services/orders/list-reverse';
import { loadOrder } from '../../services/orders/read-order';
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

const db = testDb();
afterAll(() => db.destroy());

async function order(owner: As, sku: string, quantity = 1) {
  const created = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity }] } });
  expect(created.status).toBe(201);
  return created.body.order.id as string;
}
const pay = (id: string, owner: As) =>
  call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
const refund = (id: string, body: object = {}) =>
  call('POST', `/v1/orders/${id}/refunds`, { as: merchant, body: { reason: 'test', ...body } });

/** A CSV body as rows of cells (RFC 4180 quoting, CRLF lines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

test('the list filters by payment status, and the stored status is the domain’s, for every order', async () => {
  const sku = uniqueSku('ps');
  await putProduct(sku, { price: 1000, stock: 50 });
  const owner = customer();
  const [unpaid, paid, partly, refunded] = [
    await order(owner, sku),
    await order(owner, sku),
    await order(owner, sku, 2),
    await order(owner, sku),
  ];
  for (const id of [paid, partly, refunded]) expect((await pay(id, owner)).status).toBe(200);
  // Refunds wait for production to start (the machine): the merchant refunds once it has.
  for (const id of [partly, refunded])
    for (let i = 0; i < 50 && (await loadOrder(db, id))!.status !== 'IN_PRODUCTION'; i++)
      await new Promise((r) => setTimeout(r, 100));
  expect((await refund(partly, { items: [{ sku, quantity: 1 }] })).status).toBe(201);
  expect((await refund(refunded)).status).toBe(201);

  const expected = { unpaid, paid, partially_refunded: partly, refunded };
  for (const [status, id] of Object.entries(expected)) {
    const page = await call('GET', `/v1/orders?customerId=${owner.id}&paymentStatus=${status}`, {
      as: merchant,
    });
    expect(page.status).toBe(200);
    expect(page.body.items.map((o: { id: string }) => o.id)).toEqual([id]);
    expect(page.body.items[0].paymentStatus).toBe(status);
  }
  // Every order this run has made so far (other tests' too): the column and the rule agree.
  // One snapshot, so an order other tests pay meanwhile is read once, not before and after.
  const pairs = await db.transaction(
    async (trx) => {
      const rows: { id: string; payment_status: string }[] = await trx('orders')
        .select('id', 'payment_status')
        .orderBy('created_at', 'desc')
        .limit(400);
      const out: [string, string, string][] = [];
      for (const row of rows)
        out.push([row.id, row.payment_status, paymentStatusOf((await loadOrder(trx, row.id))!)]);
      return out;
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
  for (const [id, stored, rule] of pairs) expect([id, stored]).toEqual([id, rule]);
});

test('refunds and returns are listed newest first, a customer’s own only, page by page', async () => {
  const sku = uniqueSku('rl');
  await putProduct(sku, { price: 1500, stock: 50 });
  const [alice, bob] = [customer(), customer()];
  const ids = [await order(alice, sku, 2), await order(alice, sku), await order(bob, sku)];
  for (const [i, id] of ids.entries()) expect((await pay(id, i < 2 ? alice : bob)).status).toBe(200);
  for (const id of ids)
    for (let i = 0; i < 50 && (await loadOrder(db, id))!.status !== 'IN_PRODUCTION'; i++)
      await new Promise((r) => setTimeout(r, 100));
  const made: string[] = [];
  for (const [id, body] of [
    [ids[0]!, { items: [{ sku, quantity: 1 }] }],
    [ids[1]!, {}],
    [ids[0]!, {}],
    [ids[2]!, {}],
  ] as const) {
    const reply = await refund(id, body);
    expect(reply.status).toBe(201);
    made.push(reply.body.refund.id);
  }
  // Alice sees her three, newest first, two to a page; never Bob's.
  const first = await call('GET', '/v1/refunds?limit=2', { as: alice });
  expect(first.status).toBe(200);
  const second = await call('GET', `/v1/refunds?limit=2&cursor=${first.body.nextCursor}`, { as: alice });
  const seen = [...first.body.items, ...second.body.items];
  expect(seen.map((r: { id: string }) => r.id)).toEqual([made[2], made[1], made[0]]);
  expect(second.body.nextCursor).toBeNull();
  expect(seen[0]).toMatchObject({ orderId: ids[0], source: 'refund', amount: 1500 + 800 });
  // Staff see Bob's too, by order; a cursor of another list is refused.
  const bobs = await call('GET', `/v1/refunds?orderId=${ids[2]}`, { as: support });
  expect(bobs.body.items.map((r: { id: string }) => r.id)).toEqual([made[3]]);
  const totalCursor = Buffer.from(JSON.stringify({ total: 5, id: 'ord_x', of: 'total' })).toString(
    'base64url',
  );
  expect((await call('GET', `/v1/refunds?cursor=${totalCursor}`, { as: merchant })).status).toBe(400);
  // The refund list's own cursor, given to another after-sales list, is not a place in it.
  for (const list of ['returns', 'claims', 'exchanges'])
    expect((await call('GET', `/v1/${list}?cursor=${first.body.nextCursor}`, { as: merchant })).status).toBe(
      400,
    );

  // One statement per page.
  const statements: string[] = [];
  const count = (q: { sql: string }) => statements.push(q.sql);
  db.on('query', count);
  await listRefunds(db, { customerId: alice.id, limit: 10 });
  db.off('query', count);
  expect(statements).toHaveLength(1);

  // Returns: Alice's shipped order, one unit sent back.
  const shipped = await order(alice, sku);
  expect((await pay(shipped, alice)).status).toBe(200);
  for (let i = 0; i < 50 && (await loadOrder(db, shipped))!.status !== 'IN_PRODUCTION'; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(
    (
      await call('POST', `/v1/orders/${shipped}/ship`, {
        as: merchant,
        body: { carrier: 'UPS', trackingNumber: '1Z9' },
      })
    ).status,
  ).toBe(200);
  const ret = await call('POST', `/v1/orders/${shipped}/returns`, {
    as: alice,
    body: { items: [{ sku, quantity: 1 }], reason: 'too small' },
  });
  expect(ret.status).toBe(201);
  const mine = await call('GET', '/v1/returns', { as: alice });
  expect(mine.body.items.map((r: { id: string }) => r.id)).toEqual([ret.body.return.id]);
  expect(mine.body.items[0]).toMatchObject({ status: 'REQUESTED', allowedActions: [] });
  expect((await call('GET', '/v1/returns', { as: bob })).body.items).toEqual([]);
  const requested = await call('GET', `/v1/returns?status=REQUESTED&customerId=${alice.id}`, {
    as: merchant,
  });
  expect(requested.body.items).toHaveLength(1);
  expect(requested.body.items[0].allowedActions).toEqual(expect.arrayContaining(['approve', 'reject']));
});

test('counts and sums per group and currency, for a window', async () => {
  // A currency no other test uses, so its groups hold only these orders.
  const sku = uniqueSku('st');
  await putProduct(sku, { price: 2000, currency: 'NZD', stock: 50 });
  const owner = customer();
  const from = new Date().toISOString();
  const ids = [await order(owner, sku), await order(owner, sku, 2), await order(owner, sku, 3)];
  expect((await call('POST', `/v1/orders/${ids[0]}/cancel`, { as: owner, body: {} })).status).toBe(200);
  const to = new Date(Date.now() + 1000).toISOString();
  const stats = await call('GET', `/v1/orders/stats?groupBy=status&createdFrom=${from}&createdTo=${to}`, {
    as: merchant,
  });
  expect(stats.status).toBe(200);
  const nzd = stats.body.groups.filter((g: { currency: string }) => g.currency === 'NZD');
  expect(nzd).toEqual([
    { key: 'CANCELLED', currency: 'NZD', count: 1, total: 2800, paid: 0, refunded: 0 },
    { key: 'PENDING_PAYMENT', currency: 'NZD', count: 2, total: 4800 + 6800, paid: 0, refunded: 0 },
  ]);
  const byDay = await call('GET', `/v1/orders/stats?groupBy=day&createdFrom=${from}&createdTo=${to}`, {
    as: support,
  });
  const days = byDay.body.groups.filter((g: { currency: string }) => g.currency === 'NZD');
  expect(days.reduce((a: number, g: { count: number }) => a + g.count, 0)).toBe(3);
  expect(days[0].key).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect((await call('GET', '/v1/orders/stats?groupBy=status', { as: owner })).status).toBe(403);
  expect((await call('GET', '/v1/orders/stats?groupBy=colour', { as: merchant })).status).toBe(400);
  // From within the last day an instant may name, with no end: no whole day follows it.
  for (const groupBy of ['status', 'day']) {
    const last = await call('GET', `/v1/orders/stats?groupBy=${groupBy}&createdFrom=9999-12-31T12:00:00Z`, {
      as: merchant,
    });
    expect(last.status).toBe(200);
    expect(last.body.groups).toEqual([]);
  }
});

test('the list exported as CSV: a row per order or per line, in batches, formulas escaped, staff only', async () => {
  const sku = uniqueSku('ex');
  await putProduct(sku, { name: '=HYPERLINK("http://evil.example","open me")', price: 700, stock: 50 });
  const owner = customer();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await order(owner, sku, i + 1));

  const orders = await call('GET', `/v1/orders/export?customerId=${owner.id}&sort=createdAt`, {
    as: merchant,
  });
  expect(orders.status).toBe(200);
  expect(orders.headers.get('content-type')).toMatch(/^text\/csv/);
  const rows = parseCsv(orders.body as string);
  expect(rows[0]!.slice(0, 4)).toEqual(['orderId', 'type', 'customerId', 'status']);
  expect(rows.slice(1).map((r) => r[0])).toEqual(ids);
  expect(rows[1]).toEqual(expect.arrayContaining([owner.id, 'PENDING_PAYMENT', 'unpaid', 'USD']));
  // A customer id is its channel's: the channel is a column of each row kind.
  expect(rows.map((r) => r[rows[0]!.indexOf('channel')])).toEqual(['channel', ...ids.map(() => 'web')]);

  const lines = await call('GET', `/v1/orders/export?customerId=${owner.id}&rows=line`, { as: support });
  const lineRows = parseCsv(lines.body as string);
  expect(lineRows[0]).toContain('sku');
  const name = lineRows[0]!.indexOf('name');
  expect(lineRows.slice(1).map((r) => r[0])).toEqual([...ids].reverse());
  // Read back as text by a spreadsheet, never run.
  expect(lineRows[1]![name]).toBe(`'=HYPERLINK("http://evil.example","open me")`);
  expect(lineRows[1]![lineRows[0]!.indexOf('channel')]).toBe('web');

  // Batches walk the list's keyset: five orders, two a batch, each once and in order.
  const chunks: string[] = [];
  for await (const chunk of exportOrders(db, { customerId: owner.id, sort: 'createdAt' }, 'order', 2))
    chunks.push(chunk);
  expect(chunks).toHaveLength(1 + 3);
  expect(
    parseCsv(chunks.join(''))
      .slice(1)
      .map((r) => r[0]),
  ).toEqual(ids);

  expect((await call('GET', '/v1/orders/export', { as: owner })).status).toBe(403);
  expect((await call('GET', '/v1/orders/export?rows=cells', { as: merchant })).status).toBe(400);
});

test('a currency is a current ISO 4217 code, not any three capitals', async () => {
  const product = { name: 'Mug', price: 500, kind: 'physical', stock: 1 };
  const sku = uniqueSku('cur');
  const fake = await call('PUT', `/v1/products/${sku}`, {
    as: merchant,
    body: { ...product, currency: 'ABC' },
  });
  expect(fake.status).toBe(400);
  expect(JSON.stringify(fake.body.errors)).toContain('not a current ISO 4217 currency code');
  expect(
    (await call('PUT', `/v1/products/${sku}`, { as: merchant, body: { ...product, currency: 'JPY' } }))
      .status,
  ).toBe(201);
  expect((await call('GET', '/v1/orders?currency=ABC&sort=total', { as: merchant })).status).toBe(400);
  expect((await call('GET', '/v1/orders?currency=JPY&sort=total', { as: merchant })).status).toBe(200);
});

test('at most two exports run at once in an API process: the next is a 429 until one ends', async () => {
  const job = {
    databaseUrl: process.env.DATABASE_URL!,
    queryTimeoutMs: 10_000,
    filters: {},
    rows: 'order' as const,
  };
  const running = Array.from({ length: MAX_EXPORTS }, () => exportInThread(job));
  // Each has its thread and has sent its header.
  for (const r of running) expect(new TextDecoder().decode((await r.next()).value)).toMatch(/^orderId,/);
  expect(() => exportInThread(job)).toThrow(expect.objectContaining({ status: 429 }));
  await running[0]!.return(undefined);
  const next = exportInThread(job);
  expect((await next.next()).done).toBe(false);
  await next.return(undefined);
  await running[1]!.return(undefined);
}, 60_000);

test('an export whose client leaves before its first batch frees its place: the next exports are not 429s', async () => {
  // Several batches of line rows (200 orders a batch), so the export would still be writing.
  const tag = `gone-${Date.now()}`;
  await seedOrders(db, { orders: 700, batch: 700, tag, customers: 1 });
  const url = new URL(`${apiUrl()}/v1/orders/export?customerId=seed-c1&rows=line`);
  const authorization = `Bearer ${tokenFor('merchant', merchant.id)}`;
  // More clients leaving than there are places: each sends its request and goes at once.
  for (let i = 0; i < MAX_EXPORTS + 1; i++)
    await new Promise<void>((resolve) => {
      const req = http.get(url, { headers: { authorization }, agent: false });
      req.on('error', () => resolve());
      req.on('socket', (socket) => socket.on('connect', () => setTimeout(() => req.destroy(), 20)));
      req.on('close', () => resolve());
    });
  // The places come back as the server hears of each departure (bounded: about 10 s).
  let status = 0;
  for (let tries = 0; tries < 50 && status !== 200; tries++) {
    if (tries > 0) await new Promise((r) => setTimeout(r, 200));
    status = (await call('GET', '/v1/orders/export?customerId=nobody-here', { as: merchant })).status;
  }
  expect(status).toBe(200);
  // Seeded like real orders (to the millisecond): the list's pages hold each once.
  const seen: string[] = [];
  let cursor = '';
  for (let page = 0; page < 50; page++) {
    const reply = await call('GET', `/v1/orders?customerId=seed-c1&sort=createdAt&limit=100${cursor}`, {
      as: merchant,
    });
    seen.push(...reply.body.items.map((o: { id: string }) => o.id));
    if (!reply.body.nextCursor) break;
    cursor = `&cursor=${reply.body.nextCursor}`;
  }
  expect(new Set(seen).size).toBe(seen.length);
  const { n } = await db('orders').where({ customer_id: 'seed-c1' }).first(db.raw('count(*)::int AS n'));
  expect(seen).toHaveLength(n);
  const full = await call('GET', '/v1/orders/export?customerId=seed-c1&rows=line', { as: merchant });
  expect(full.status).toBe(200);
  expect(parseCsv(full.body as string).length).toBeGreaterThan(700);
}, 60_000);

test("q finds an identity provider's subject and a tracking number with spaces and slashes", async () => {
  const sku = uniqueSku('q');
  await putProduct(sku, { price: 500, stock: 5 });
  const owner = customer(`ann+${randomUUID().slice(0, 6)}@example.com`);
  const id = await order(owner, sku);
  expect((await pay(id, owner)).status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  const tracking = `1Z ${randomUUID().slice(0, 6)}/B`;
  const shipped = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: tracking },
  });
  expect(shipped.status).toBe(200);
  const found = async (q: string) => {
    const reply = await call('GET', `/v1/orders?q=${encodeURIComponent(q)}`, { as: merchant });
    expect(reply.status).toBe(200);
    return reply.body.items.map((o: { id: string }) => o.id);
  };
  expect(await found(owner.id)).toEqual([id]);
  expect(await found(tracking)).toEqual([id]);
  // Not an order id's beginning: LIKE's wildcards match nothing.
  expect(await found(`${id.slice(0, 6)}%`)).toEqual([]);
  expect((await call('GET', `/v1/orders?q=${encodeURIComponent('x\u0000')}`, { as: merchant })).status).toBe(
    400,
  );
});
