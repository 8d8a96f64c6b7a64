/**
 * The contract's rule for lists, on the lists beside the order center's: `limit` (20 by default,
 * at most 100) and an opaque `cursor`, answered as `{ items, nextCursor }`. Walked a few at a time,
 * a list gives each item once, in its order; a cursor it did not give out is a 400.
 */
import { randomUUID } from 'node:crypto';
import {
  allPages,
  call,
  customer,
  merchant,
  putProduct,
  support,
  uniqueSku,
  waitForOrder,
} from '../support/api';

const tag = randomUUID().slice(0, 8);
const ids = (items: { id: string }[]) => items.map((i) => i.id);
const once = <T>(values: T[]) => new Set(values).size === values.length;

test('locations, channels and webhooks come a page at a time, each once, in their order', async () => {
  // Ranked last, so no other test's stock goes to them.
  const locations = [3, 1, 2].map((n) => ({ id: `loc-page-${tag}-${n}`, priority: 999_000 + (n % 2) }));
  for (const l of locations)
    expect(
      (
        await call('PUT', `/v1/locations/${l.id}`, {
          as: merchant,
          body: { name: l.id, priority: l.priority },
        })
      ).status,
    ).toBe(201);
  const walked = await allPages<{ id: string; priority: number }>('/v1/locations', merchant, 2);
  expect(once(ids(walked))).toBe(true);
  const rank = (l: { id: string; priority: number }) => `${String(l.priority).padStart(8, '0')} ${l.id}`;
  expect(walked.map(rank)).toEqual(walked.map(rank).sort());
  // Mine, best-ranked first, then by id.
  expect(ids(walked).filter((id) => id.includes(tag))).toEqual([
    `loc-page-${tag}-2`,
    `loc-page-${tag}-1`,
    `loc-page-${tag}-3`,
  ]);

  const channels = [`ch-page-${tag}-b`, `ch-page-${tag}-a`, `ch-page-${tag}-c`];
  for (const id of channels)
    expect((await call('PUT', `/v1/channels/${id}`, { as: merchant, body: { name: id } })).status).toBe(201);
  const walkedChannels = ids(await allPages('/v1/channels', support, 2));
  expect(once(walkedChannels)).toBe(true);
  expect(walkedChannels).toEqual([...walkedChannels].sort());
  expect(walkedChannels.filter((id) => id.includes(tag))).toEqual([...channels].sort());

  // Inactive: they hear nothing of the other tests' orders.
  const hooks = [`wh-page-${tag}-2`, `wh-page-${tag}-1`];
  for (const id of hooks)
    expect(
      (
        await call('PUT', `/v1/webhooks/${id}`, {
          as: merchant,
          body: {
            url: 'http://127.0.0.1:9/hooks',
            events: ['order.paid'],
            secret: `whsec_${randomUUID()}`,
            active: false,
          },
        })
      ).status,
    ).toBe(201);
  const walkedHooks = ids(await allPages('/v1/webhooks', merchant, 1));
  expect(once(walkedHooks)).toBe(true);
  expect(walkedHooks).toEqual([...walkedHooks].sort());
  expect(walkedHooks.filter((id) => id.includes(tag))).toEqual([...hooks].sort());

  // The default page is 20, and says where the next starts only when there is more.
  const first = await call('GET', '/v1/channels', { as: merchant });
  expect(first.body.items.length).toBe(Math.min(20, walkedChannels.length));
  expect(first.body.nextCursor === null).toBe(walkedChannels.length <= 20);
}, 60_000);

test('an order’s events come a page at a time, in sequence', async () => {
  const sku = uniqueSku('pages');
  await putProduct(sku, { price: 700, stock: 5 });
  const owner = customer();
  const id = (await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 1 }] } })).body
    .order.id as string;
  expect(
    (await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } })).status,
  ).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  const all = (await call('GET', `/v1/orders/${id}/events?limit=100`, { as: merchant })).body;
  expect(all.nextCursor).toBeNull();
  expect(all.items.length).toBeGreaterThan(3);
  const walked = await allPages<{ id: string; sequence: number }>(`/v1/orders/${id}/events`, merchant, 1);
  expect(ids(walked)).toEqual(ids(all.items));
  expect(walked.map((e) => e.sequence)).toEqual(walked.map((_, i) => i + 1));
}, 60_000);

test('a cursor the list did not give out, or a limit out of bounds, is a 400 that names it', async () => {
  const events = (await call('GET', '/v1/locations?limit=1', { as: merchant })).body.nextCursor as string;
  expect(events).toEqual(expect.any(String));
  for (const path of [
    '/v1/locations?cursor=not-a-cursor',
    `/v1/channels?cursor=${events}`, // a location's cursor is not a channel's
    `/v1/webhooks?cursor=${Buffer.from(JSON.stringify(['x\u0000'])).toString('base64url')}`,
    `/v1/orders/ord_${'0'.repeat(32)}/events?cursor=${Buffer.from('[1.5]').toString('base64url')}`,
    '/v1/fulfilments?stalledFor=1h&cursor=W10',
    '/v1/locations?limit=0',
    '/v1/channels?limit=101',
  ]) {
    const reply = await call('GET', path, { as: merchant });
    expect([path, reply.status]).toEqual([path, 400]);
    expect(reply.body.errors.map((e: { path: string[] }) => e.path[0])).toEqual([
      path.includes('limit=') ? 'limit' : 'cursor',
    ]);
  }
});
