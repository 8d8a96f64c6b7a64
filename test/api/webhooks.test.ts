/**
 * Issue 22, items 1, 2 and 5: every transition the order center records is an event in its outbox,
 * numbered per order, and reaches each subscription that hears it through a real HTTP receiver
 * that fails, times out and answers slowly at random: exactly once after de-duplication by
 * Webhook-Id, in sequence per order, signed. A receiver that was down catches up; an event still
 * failing past the retry window is marked failed, the order's later events go on, and it can be
 * sent again.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureProblem } from '../../codec/webhook-signature';
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
import { testDb } from '../support/backends';
import { recordRefund } from '../../services/orders/returns-store';

const db = testDb();
afterAll(() => db.destroy());

interface Received {
  id: string;
  orderId: string;
  sequence: number;
  type: string;
  body: any;
  verified: boolean;
  /** When the POST reached the receiver (1, 2, 3...): a hung one is accepted later than it came. */
  arrival: number;
}

/** A receiver on loopback: records what it accepts; `behave` decides, per request, how it answers. */
async function receiver(
  secret: string,
  behave: (event: any) => 'ok' | 'fail' | 'hang' | 'slow' | Promise<void>,
) {
  const accepted: Received[] = [];
  let arrivals = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const event = JSON.parse(raw.toString());
      const arrival = ++arrivals;
      const how = behave(event);
      const accept = () => {
        accepted.push({
          arrival,
          id: String(req.headers['webhook-id']),
          orderId: event.orderId,
          sequence: event.sequence,
          type: event.type,
          body: event,
          verified:
            req.headers['webhook-id'] === event.id &&
            signatureProblem(secret, req.headers['webhook-signature'] as string, raw, {
              now: Date.now(),
              toleranceMs: 300_000,
            }) === null,
        });
        res.writeHead(204).end();
      };
      if (how === 'fail') return void res.writeHead(500).end();
      // Taken, but answered after the dispatcher gave up waiting: it will come again.
      if (how === 'hang') return void setTimeout(accept, 1500);
      if (how === 'slow') return void setTimeout(accept, 200);
      // Held until the test lets it answer.
      if (how instanceof Promise) return void how.then(accept);
      accept();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    accepted,
    url: `http://127.0.0.1:${port}/hooks`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
    reopen: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
  };
}

async function subscribe(url: string, secret: string, events: string[] = ['*']) {
  const id = `wh-${randomUUID().slice(0, 8)}`;
  const reply = await call('PUT', `/v1/webhooks/${id}`, { as: merchant, body: { url, events, secret } });
  expect(reply.status).toBe(201);
  expect(reply.body.webhook).not.toHaveProperty('secret');
  // Kept sealed (the test stack has keys): what PostgreSQL holds is not the secret.
  const stored = (await db('webhooks').where({ id }).first('secret')).secret as string;
  expect(stored).toMatch(/^enc:v1:/);
  expect(stored).not.toContain(secret);
  return id;
}
/** Off at the end: the shared stack's later events must not go on knocking at a closed receiver. */
const unsubscribe = (id: string, url: string, secret: string) =>
  call('PUT', `/v1/webhooks/${id}`, { as: merchant, body: { url, events: ['*'], secret, active: false } });

const eventsOf = async (orderId: string) =>
  (await call('GET', `/v1/orders/${orderId}/events?limit=100`, { as: support })).body.items as any[];

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms = 60_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A subscription's delivery of an order's event of a type, as PostgreSQL holds it. */
const deliveryRow = (webhook: string, type: string, orderId: string) =>
  db('webhook_deliveries as d')
    .join('order_events as e', 'e.id', 'd.event_id')
    .where({ 'd.webhook_id': webhook, 'e.order_id': orderId, 'e.type': type })
    .first(
      'd.event_id',
      'd.status',
      'd.attempts',
      'd.last_error',
      db.raw('d.next_attempt_at::text AS next_attempt_at'),
      db.raw('coalesce(d.locked_until > now(), false) AS in_flight'),
    );

async function placed(owner = customer(), quantity = 1) {
  const sku = uniqueSku('ev');
  await putProduct(sku, { stock: 20, price: 1000 });
  const reply = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity }] } });
  expect(reply.status).toBe(201);
  return { id: reply.body.order.id as string, owner, sku };
}
const pay = (id: string, as: any) =>
  call('POST', `/v1/orders/${id}/pay`, { as, body: { paymentToken: 'tok_ok' } });

test('every transition, to a receiver that fails, times out and is slow at random: exactly once after de-duplication, in sequence per order, signed', async () => {
  const secret = `whsec_${randomUUID()}`;
  const mine = new Set<string>();
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const r = await receiver(secret, (event) => {
    if (!mine.has(event.orderId)) return 'ok';
    const x = random();
    return x < 0.25 ? 'fail' : x < 0.35 ? 'hang' : x < 0.55 ? 'slow' : 'ok';
  });
  const webhook = await subscribe(r.url, secret);
  try {
    // Orders through different paths: shipped, cancelled unpaid, paid and cancelled, partly refunded.
    const orders = await Promise.all([placed(), placed(), placed(), placed(customer(), 2)]);
    orders.forEach((o) => mine.add(o.id));
    const [shipped, unpaid, cancelled, refunded] = orders;
    for (const o of [shipped!, cancelled!, refunded!]) expect((await pay(o.id, o.owner)).status).toBe(200);
    await waitForOrder(shipped!.id, shipped!.owner, (o) => o.status === 'IN_PRODUCTION');
    expect(
      (
        await call('POST', `/v1/orders/${shipped!.id}/ship`, {
          as: merchant,
          body: { carrier: 'UPS', trackingNumber: '1Z' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await call('POST', `/v1/orders/${unpaid!.id}/cancel`, { as: unpaid!.owner, body: {} })).status,
    ).toBe(200);
    await waitForOrder(cancelled!.id, cancelled!.owner, (o) => o.status === 'IN_PRODUCTION');
    expect(
      (await call('POST', `/v1/orders/${cancelled!.id}/cancel`, { as: cancelled!.owner, body: {} })).status,
    ).toBe(200);
    await waitForOrder(refunded!.id, refunded!.owner, (o) => o.status === 'IN_PRODUCTION');
    const refund = await call('POST', `/v1/orders/${refunded!.id}/refunds`, {
      as: merchant,
      body: { items: [{ sku: refunded!.sku, quantity: 1 }], reason: 'damaged' },
    });
    expect(refund.status).toBe(201);

    // The outbox: each order's events numbered 1, 2, 3... with what each announces.
    const outbox = new Map<string, any[]>();
    for (const o of orders) outbox.set(o.id, await eventsOf(o.id));
    for (const events of outbox.values())
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    const types = (id: string) => outbox.get(id)!.map((e) => e.type);
    expect(types(shipped!.id)).toEqual(
      expect.arrayContaining(['order.created', 'order.status_changed', 'order.paid', 'shipment.shipped']),
    );
    expect(types(unpaid!.id)).toEqual(['order.created', 'order.status_changed', 'order.cancelled']);
    expect(types(cancelled!.id)).toContain('order.cancelled');
    expect(types(refunded!.id)).toContain('refund.succeeded');
    const paid = outbox.get(shipped!.id)!.find((e) => e.type === 'order.paid');
    expect(paid.data.transition).toMatchObject({
      from: 'PENDING_PAYMENT',
      to: 'PAID',
      action: 'pay',
      actor: 'customer',
    });
    expect(paid.data.order).toMatchObject({ id: shipped!.id, status: 'PAID' });
    expect(paid.data.order.amounts.paid).toBe(paid.data.order.amounts.total);
    const cancelledBy = outbox.get(unpaid!.id)!.find((e) => e.type === 'order.status_changed');
    expect(cancelledBy.data.transition.actor).toBe('customer');

    // Everything delivered, despite the receiver.
    await until('every delivery settled', async () => {
      // Per order: a capped list of every order's pending deliveries could hide ours behind others'.
      for (const id of mine) {
        const pending = await call('GET', `/v1/webhooks/${webhook}/deliveries?status=pending&orderId=${id}`, {
          as: support,
        });
        if (pending.body.items.length > 0) return false;
      }
      return (await eventsOf(refunded!.id)).length === outbox.get(refunded!.id)!.length;
    });
    for (const o of orders) {
      // In the order the POSTs came, whenever the receiver got round to answering them.
      const got = r.accepted.filter((a) => a.orderId === o.id).sort((a, b) => a.arrival - b.arrival);
      // Exactly once after de-duplication by Webhook-Id: the outbox's events, no more, no fewer.
      const firsts = got.filter((a, i) => got.findIndex((b) => b.id === a.id) === i);
      const expected = await eventsOf(o.id);
      expect(firsts.map((a) => a.id)).toEqual(expected.map((e) => e.id));
      // In sequence: a retry of an event never comes after the next one.
      expect(got.map((a) => a.sequence)).toEqual([...got.map((a) => a.sequence)].sort((a, b) => a - b));
      expect(got.every((a) => a.verified)).toBe(true);
      expect(firsts[0]!.body).toMatchObject({ type: 'order.created', sequence: 1, orderId: o.id });
    }
    const delivered = await call(
      'GET',
      `/v1/webhooks/${webhook}/deliveries?orderId=${shipped!.id}&limit=100`,
      {
        as: merchant,
      },
    );
    expect(delivered.body.items.every((d: any) => d.status === 'delivered' && d.deliveredAt)).toBe(true);
    // A page at a time (an order's events of one instant share it): the same deliveries, each once.
    const walked = await allPages(`/v1/webhooks/${webhook}/deliveries?orderId=${shipped!.id}`, merchant, 2);
    expect(walked.map((d) => d.eventId)).toEqual(delivered.body.items.map((d: any) => d.eventId));
    expect(walked.length).toBe(outbox.get(shipped!.id)!.length);
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 120_000);

test('a receiver down for a while receives everything once it is back', async () => {
  const secret = `whsec_${randomUUID()}`;
  const r = await receiver(secret, () => 'ok');
  const webhook = await subscribe(r.url, secret, ['order.created', 'order.paid']);
  try {
    await r.close();
    const o = await placed();
    expect((await pay(o.id, o.owner)).status).toBe(200);
    const failing = await until('a failed attempt', async () => {
      const items = (await call('GET', `/v1/webhooks/${webhook}/deliveries?orderId=${o.id}`, { as: support }))
        .body.items;
      return items.find((d: any) => d.attempts > 0 && d.lastError) ?? false;
    });
    expect(failing).toMatchObject({
      status: 'pending',
      lastError: 'connection refused',
      nextAttemptAt: expect.any(String),
    });
    // The subscriber as a whole backs off: its deliveries wait, and one probe at a time goes out.
    expect((await db('webhooks').where({ id: webhook }).first()).consecutive_failures).toBeGreaterThan(0);
    await r.reopen();
    await until('both events', async () => r.accepted.filter((a) => a.orderId === o.id).length >= 2);
    expect(r.accepted.filter((a) => a.orderId === o.id).map((a) => a.type)).toEqual([
      'order.created',
      'order.paid',
    ]);
    // Answering again: at full speed.
    await until('the subscriber is healthy', async () => {
      const row = await db('webhooks').where({ id: webhook }).first();
      return row.consecutive_failures === 0 && row.retry_after === null;
    });
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 90_000);

test('an event still failing past the retry window is marked failed; the order’s later events go on, with the gap visible; it can be sent again', async () => {
  const secret = `whsec_${randomUUID()}`;
  let refuse = true;
  // Refuses this test's order alone: refusing every order's events would back the subscriber off
  // and queue this delivery behind whatever other tests were doing meanwhile.
  const owner = customer();
  const r = await receiver(secret, (e) => (refuse && e.data?.order?.customerId === owner.id ? 'fail' : 'ok'));
  const webhook = await subscribe(r.url, secret);
  try {
    const o = await placed(owner);
    const [created] = await until('the first event', async () => {
      const e = await eventsOf(o.id);
      return e.length > 0 && e;
    });
    // As if 24 hours of retries had passed.
    await until(
      'a failed attempt',
      async () =>
        (await db('webhook_deliveries').where({ webhook_id: webhook, event_id: created.id }).first())
          ?.attempts > 0,
    );
    await db('webhook_deliveries')
      .where({ webhook_id: webhook, event_id: created.id })
      .update({ retry_from: db.raw(`now() - interval '25 hours'`) });
    const failed = await until('the delivery failed', async () => {
      const items = (await call('GET', `/v1/webhooks/${webhook}/deliveries?status=failed`, { as: support }))
        .body.items;
      return items.find((d: any) => d.eventId === created.id);
    });
    expect(failed).toMatchObject({ status: 'failed', lastError: 'status 500', nextAttemptAt: null });

    refuse = false;
    expect((await pay(o.id, o.owner)).status).toBe(200);
    await until('the later events', async () =>
      r.accepted.some((a) => a.orderId === o.id && a.type === 'order.paid'),
    );
    const first = r.accepted.find((a) => a.orderId === o.id)!;
    expect(first.sequence).toBeGreaterThan(1); // the receiver sees the gap

    const again = await call('POST', `/v1/webhooks/${webhook}/deliveries/${created.id}/redeliver`, {
      as: merchant,
    });
    expect(again.status).toBe(202);
    expect(again.body.delivery).toMatchObject({ eventId: created.id, status: 'pending' });
    await until('the redelivery', async () => r.accepted.some((a) => a.id === created.id));
    expect(
      (
        await call('POST', `/v1/webhooks/${webhook}/deliveries/evt_${'0'.repeat(32)}/redeliver`, {
          as: merchant,
        })
      ).status,
    ).toBe(404);
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 90_000);

test('a redelivery asked for while an attempt is on the wire is not undone by that attempt’s failure', async () => {
  const secret = `whsec_${randomUUID()}`;
  const owner = customer();
  let how: 'fail' | 'hang' | 'ok' = 'fail';
  const r = await receiver(secret, (e) => (e.data?.order?.customerId === owner.id ? how : 'ok'));
  const webhook = await subscribe(r.url, secret, ['order.created']);
  const row = (eventId: string) =>
    db('webhook_deliveries')
      .where({ webhook_id: webhook, event_id: eventId })
      .first('status', 'attempts', db.raw('locked_until > now() AS in_flight'));
  try {
    const o = await placed(owner);
    const [created] = await until('the event', async () => {
      const e = await eventsOf(o.id);
      return e.length > 0 && e;
    });
    await until('a failed attempt', async () => (await row(created.id))?.attempts > 0);
    // As if 24 hours of retries had passed, set while no attempt is on the wire; the next one hangs.
    how = 'hang';
    const before = await until('the window moved back between attempts', async () => {
      const { attempts } = await row(created.id);
      const moved = await db('webhook_deliveries')
        .where({ webhook_id: webhook, event_id: created.id, attempts })
        .where((q) => q.whereNull('locked_until').orWhere('locked_until', '<', db.fn.now()))
        .update({ retry_from: db.raw(`now() - interval '25 hours'`) });
      return moved === 1 && { attempts };
    });
    await until('the next attempt on the wire', async () => {
      const now = await row(created.id);
      return now.attempts > before.attempts && now.in_flight;
    });
    const again = await call('POST', `/v1/webhooks/${webhook}/deliveries/${created.id}/redeliver`, {
      as: merchant,
    });
    expect(again.status).toBe(202);
    how = 'ok';
    // The attempt on the wire times out (1 s here) past the old window: the new window stands.
    const settled = await until('the delivery settled', async () => {
      const now = await row(created.id);
      return now.status !== 'pending' && now;
    });
    expect(settled.status).toBe('delivered');
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 90_000);

test('an attempt on the wire when a redelivery is asked for does not settle it, even by a late success', async () => {
  const secret = `whsec_${randomUUID()}`;
  const owner = customer();
  // This order's first POST is held until the test lets it succeed; later ones fail until told.
  let arrived = () => {};
  const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let posts = 0;
  let refuse = true;
  const r = await receiver(secret, (e) => {
    if (e.data?.order?.customerId !== owner.id) return 'ok';
    if (++posts === 1) {
      arrived();
      return held;
    }
    return refuse ? 'fail' : 'ok';
  });
  const webhook = await subscribe(r.url, secret, ['order.created']);
  const row = (eventId: string) =>
    db('webhook_deliveries')
      .where({ webhook_id: webhook, event_id: eventId })
      .first('status', 'attempts', 'last_error');
  try {
    const o = await placed(owner);
    await firstArrived;
    const [created] = await eventsOf(o.id);
    const started = Date.now();
    const again = await call('POST', `/v1/webhooks/${webhook}/deliveries/${created!.id}/redeliver`, {
      as: merchant,
    });
    expect(again.status).toBe(202);
    // Answered inside the dispatcher's wait (1 s here): a success, after the redelivery was asked for.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 500 - (Date.now() - started))));
    release();
    await until('the success received', async () => r.accepted.some((a) => a.orderId === o.id), 5_000, 20);
    // The redelivery's attempts, which fail, are the delivery's: it is not marked delivered.
    await until('a failure of the redelivery recorded', async () => (await row(created!.id)).last_error);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await row(created!.id)).toMatchObject({ status: 'pending', last_error: 'status 500' });
    refuse = false;
    const settled = await until('delivered', async () => {
      const now = await row(created!.id);
      return now.status === 'delivered' && now;
    });
    expect(settled.attempts).toBeGreaterThanOrEqual(3);
  } finally {
    release();
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 60_000);

test('a delivery’s retry window opens at its first attempt, and again when its subscription is made active again', async () => {
  const secret = `whsec_${randomUUID()}`;
  const owner = customer();
  let refuse = true;
  const r = await receiver(secret, (e) => (refuse && e.data?.order?.customerId === owner.id ? 'fail' : 'ok'));
  const webhook = await subscribe(r.url, secret, ['order.created', 'order.paid']);
  const rowOf = (type: string, orderId: string) => deliveryRow(webhook, type, orderId);
  /** Tried more than `times`, and that attempt's outcome recorded. */
  const triedMore = async (orderId: string, times: number) => {
    const now = await rowOf('order.paid', orderId);
    return now.attempts > times && now.last_error !== null && !now.in_flight;
  };
  try {
    // The paid event waits behind the created one, which fails: as if for a day.
    const o = await placed(owner);
    await until('a failed attempt', async () => (await rowOf('order.created', o.id))?.attempts > 0);
    expect((await pay(o.id, o.owner)).status).toBe(200);
    const waiting = await until('the paid event queued', () => rowOf('order.paid', o.id));
    await db('webhook_deliveries')
      .where({ webhook_id: webhook })
      .whereIn('event_id', [waiting.event_id, (await rowOf('order.created', o.id)).event_id])
      .update({ retry_from: db.raw(`now() - interval '25 hours'`) });
    // The created event's next failure ends it; the paid one's first attempt fails too, but its
    // window has only just opened: it is tried again, not failed at once.
    await until(
      'the created event failed',
      async () => (await rowOf('order.created', o.id)).status === 'failed',
    );
    await until('the paid event tried', () => triedMore(o.id, 0));
    expect(await rowOf('order.paid', o.id)).toMatchObject({ status: 'pending' });

    // Stopped for a day, then made active again: its pending delivery gets a new window.
    const put = (active: boolean) =>
      call('PUT', `/v1/webhooks/${webhook}`, {
        as: merchant,
        body: { url: r.url, events: ['order.created', 'order.paid'], secret, active },
      });
    expect((await put(false)).status).toBe(200);
    await until('no attempt on the wire', async () => !(await rowOf('order.paid', o.id)).in_flight);
    await db('webhook_deliveries')
      .where({ webhook_id: webhook, event_id: waiting.event_id })
      .update({ retry_from: db.raw(`now() - interval '25 hours'`) });
    const tried = (await rowOf('order.paid', o.id)).attempts;
    expect((await put(true)).status).toBe(200);
    await until('tried again', () => triedMore(o.id, tried));
    expect(await rowOf('order.paid', o.id)).toMatchObject({ status: 'pending' });
    refuse = false;
    await until('delivered', async () => (await rowOf('order.paid', o.id)).status === 'delivered');
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 90_000);

test('events sent again wait behind their order’s earlier ones without using up their retry window', async () => {
  const secret = `whsec_${randomUUID()}`;
  const owner = customer();
  let refuse = false;
  const r = await receiver(secret, (e) => (refuse && e.data?.order?.customerId === owner.id ? 'fail' : 'ok'));
  const webhook = await subscribe(r.url, secret, ['order.created', 'order.paid']);
  const rowOf = (type: string, orderId: string) => deliveryRow(webhook, type, orderId);
  try {
    const o = await placed(owner);
    expect((await pay(o.id, o.owner)).status).toBe(200);
    await until('both delivered', async () => (await rowOf('order.paid', o.id))?.status === 'delivered');
    const created = await rowOf('order.created', o.id);
    const paid = await rowOf('order.paid', o.id);
    // Both sent again, to a receiver that now refuses them: the paid event waits behind the created one.
    refuse = true;
    for (const event of [created, paid])
      expect(
        (
          await call('POST', `/v1/webhooks/${webhook}/deliveries/${event.event_id}/redeliver`, {
            as: merchant,
          })
        ).status,
      ).toBe(202);
    await until('the created event refused again', async () => {
      const now = await rowOf('order.created', o.id);
      return now.attempts > created.attempts && now.last_error !== null && !now.in_flight;
    });
    // As if a day had passed: every window opened so far moves back 25 hours, while no attempt is on the wire.
    await until('a day passed between attempts', async () => {
      const now = await rowOf('order.created', o.id);
      const moved = await db('webhook_deliveries')
        .where({ webhook_id: webhook, event_id: created.event_id, attempts: now.attempts })
        .where((q) => q.whereNull('locked_until').orWhere('locked_until', '<', db.fn.now()))
        .update({ retry_from: db.raw(`retry_from - interval '25 hours'`) });
      if (moved !== 1) return false;
      await db('webhook_deliveries')
        .where({ webhook_id: webhook, event_id: paid.event_id })
        .update({ retry_from: db.raw(`retry_from - interval '25 hours'`) });
      return true;
    });
    await until(
      'the created event failed',
      async () => (await rowOf('order.created', o.id)).status === 'failed',
    );
    // The paid event's first attempt since it was sent again fails, but its window opens there.
    await until('the paid event tried', async () => {
      const now = await rowOf('order.paid', o.id);
      return now.attempts > paid.attempts && now.last_error !== null && !now.in_flight;
    });
    expect(await rowOf('order.paid', o.id)).toMatchObject({ status: 'pending' });
    refuse = false;
    await until('delivered again', async () => (await rowOf('order.paid', o.id)).status === 'delivered');
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 90_000);

test('a subscription given a new address is tried at once, without the old address’s backoff', async () => {
  const secret = `whsec_${randomUUID()}`;
  const dead = await receiver(secret, () => 'ok');
  await dead.close();
  const webhook = await subscribe(dead.url, secret, ['order.created']);
  const fixed = await receiver(secret, () => 'ok');
  try {
    const o = await placed();
    await until('a failed attempt', async () => {
      const w = await db('webhooks').where({ id: webhook }).first();
      return w.consecutive_failures > 0;
    });
    // As if the old address had failed long enough to back off for the maximum (an hour in production).
    await db('webhooks')
      .where({ id: webhook })
      .update({ retry_after: db.raw(`now() + interval '1 hour'`) });
    const moved = await call('PUT', `/v1/webhooks/${webhook}`, {
      as: merchant,
      body: { url: fixed.url, events: ['order.created'], secret },
    });
    expect(moved.status).toBe(200);
    await until(
      'the event at the new address',
      async () => fixed.accepted.some((a) => a.orderId === o.id),
      20_000,
    );
    // The same address again keeps its backoff (a PUT that changes nothing does not reset it).
    await db('webhooks')
      .where({ id: webhook })
      .update({ consecutive_failures: 3, retry_after: db.raw(`now() + interval '1 hour'`) });
    await call('PUT', `/v1/webhooks/${webhook}`, {
      as: merchant,
      body: { url: fixed.url, events: ['order.created'], secret },
    });
    expect(await db('webhooks').where({ id: webhook }).first('consecutive_failures')).toEqual({
      consecutive_failures: 3,
    });
  } finally {
    await unsubscribe(webhook, fixed.url, secret);
    await fixed.close();
  }
}, 60_000);

test('an event shows the order as it is when the event is numbered, not as it was read before', async () => {
  const o = await placed();
  expect((await call('POST', `/v1/orders/${o.id}/cancel`, { as: o.owner, body: {} })).status).toBe(200);
  // A transition committing meanwhile (as the workflow's projection write does), holding the
  // order's row while a refund's record is written.
  const transition = await db.transaction();
  const { pid } = (await transition.raw('SELECT pg_backend_pid() AS pid')).rows[0];
  await transition('orders').where({ id: o.id }).update({ status: 'REFUNDED' });
  const refundId = `ref_${randomUUID().replace(/-/g, '')}`;
  const recorded = recordRefund(db, {
    refundId,
    orderId: o.id,
    source: 'goodwill',
    plan: { lines: [], shipping: 0, amount: 0, completesOrder: false },
    reason: 'a test of the outbox',
    at: new Date().toISOString(),
  });
  await until(
    'the refund’s record waiting for the row',
    async () =>
      (
        await db.raw(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ? = ANY (pg_blocking_pids(pid))`,
          [pid],
        )
      ).rows[0].n > 0,
    10_000,
  );
  await transition.commit();
  await recorded;
  const event = await db('order_events').where({ order_id: o.id, type: 'refund.succeeded' }).first('data');
  expect(event.data.order.status).toBe('REFUNDED');
});

test('subscriptions: staff only, validated, the secret never shown', async () => {
  const body = { url: 'http://127.0.0.1:9/x', events: ['order.paid'], secret: 'a-long-enough-secret' };
  expect((await call('PUT', '/v1/webhooks/w-cust', { as: customer(), body })).status).toBe(403);
  for (const bad of [
    { ...body, url: 'ftp://127.0.0.1/x' },
    { ...body, url: 'javascript:alert(1)' },
    { ...body, events: ['order.exploded'] },
    { ...body, events: [] },
    { ...body, secret: 'short' },
    { ...body, secret: 'has a space in it ok' },
    // Stored as given where no keys are configured, it would read as sealed and never sign.
    { ...body, secret: 'enc:v1:abcdefghijklmnop' },
    { ...body, extra: 1 },
  ])
    expect((await call('PUT', '/v1/webhooks/w-bad', { as: merchant, body: bad })).status).toBe(400);
  expect(await db('webhooks').where({ id: 'w-bad' }).first('id')).toBeUndefined();
  const credentials = await call('PUT', '/v1/webhooks/w-cred', {
    as: merchant,
    body: { ...body, url: 'http://user:pw@127.0.0.1:9/x' },
  });
  expect(credentials.status).toBe(422);
  expect(credentials.body).toMatchObject({ code: 'WEBHOOK_URL_REFUSED', reason: 'credentials' });
  expect(JSON.stringify(credentials.body)).not.toContain('pw@');
  const id = `wh-${randomUUID().slice(0, 8)}`;
  expect(
    (await call('PUT', `/v1/webhooks/${id}`, { as: support, body: { ...body, active: false } })).status,
  ).toBe(201);
  const again = await call('PUT', `/v1/webhooks/${id}`, { as: merchant, body: { ...body, active: false } });
  expect(again.status).toBe(200);
  const read = await call('GET', `/v1/webhooks/${id}`, { as: merchant });
  expect(read.body.webhook).toEqual({
    id,
    url: body.url,
    events: ['order.paid'],
    active: false,
    createdAt: expect.any(String),
    updatedAt: expect.any(String),
  });
  expect(JSON.stringify((await call('GET', '/v1/webhooks', { as: merchant })).body)).not.toContain(
    body.secret,
  );
  expect((await call('GET', `/v1/webhooks/nope-${randomUUID()}`, { as: merchant })).status).toBe(404);
});

test('a subscription whose secret this worker cannot open fails its own deliveries only; the others go at once', async () => {
  const secret = `whsec_${randomUUID()}`;
  const healthy = await receiver(secret, () => 'ok');
  const sealedAway = await receiver(secret, () => 'ok');
  const good = await subscribe(healthy.url, secret, ['order.created', 'order.paid']);
  const bad = await subscribe(sealedAway.url, secret, ['order.created', 'order.paid']);
  // As if the API had sealed it with a key added there before the worker had it.
  await db('webhooks').where({ id: bad }).update({ secret: 'enc:v1:not-here:AAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
  try {
    const orders = await Promise.all([placed(), placed(), placed()]);
    for (const o of orders) expect((await pay(o.id, o.owner)).status).toBe(200);
    // Claimed in the same passes as the unreadable ones, and sent: well inside a lease (31 s here).
    await until(
      'the healthy subscriber’s events',
      async () => orders.every((o) => healthy.accepted.filter((a) => a.orderId === o.id).length === 2),
      15_000,
    );
    expect(healthy.accepted.every((a) => a.verified)).toBe(true);
    const failed = await until('a failed attempt of the other', async () => {
      const items = (
        await call('GET', `/v1/webhooks/${bad}/deliveries?orderId=${orders[0]!.id}`, { as: support })
      ).body.items;
      return items.find((d: any) => d.attempts > 0 && d.lastError) ?? false;
    });
    expect(failed).toMatchObject({ status: 'pending', lastError: expect.stringMatching(/secret/) });
    expect(failed.lastError).not.toMatch(/AAAA|not-here/);
    expect(sealedAway.accepted).toEqual([]);
    // This worker's own failing, not the subscriber's: no backoff was earned for it.
    expect(await db('webhooks').where({ id: bad }).first('consecutive_failures', 'retry_after')).toEqual({
      consecutive_failures: 0,
      retry_after: null,
    });
  } finally {
    await unsubscribe(bad, sealedAway.url, secret);
    await unsubscribe(good, healthy.url, secret);
    await healthy.close();
    await sealedAway.close();
  }
}, 60_000);

test('a slow subscriber has no more than its share of deliveries in flight at once', async () => {
  const secret = `whsec_${randomUUID()}`;
  let inFlight = 0;
  let most = 0;
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    inFlight++;
    most = Math.max(most, inFlight);
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        seen.add(String(req.headers['webhook-id']));
        inFlight--;
        res.writeHead(204).end();
      }, 300),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  const webhook = await subscribe(url, secret, ['order.created']);
  try {
    const orders = await Promise.all(Array.from({ length: 30 }, () => placed()));
    await until('every order’s event', async () => seen.size >= orders.length, 45_000);
    // WEBHOOK_CONCURRENCY 32 (the default): a quarter of it per subscriber, over every worker's dispatcher.
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);
  } finally {
    await unsubscribe(webhook, url, secret);
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  }
}, 90_000);

test('an order’s later event waits behind its earlier one, not due, and goes as soon as that one is delivered', async () => {
  const secret = `whsec_${randomUUID()}`;
  const owner = customer();
  let refuse = true;
  const r = await receiver(secret, (e) => (refuse && e.data?.order?.customerId === owner.id ? 'fail' : 'ok'));
  const webhook = await subscribe(r.url, secret, ['order.created', 'order.paid']);
  try {
    const o = await placed(owner);
    await until(
      'a failed attempt',
      async () => (await deliveryRow(webhook, 'order.created', o.id))?.attempts > 0,
    );
    expect((await pay(o.id, o.owner)).status).toBe(200);
    // Written waiting: the dispatcher's claim does not read it until the created event is settled.
    const waiting = await until('the paid event queued', () => deliveryRow(webhook, 'order.paid', o.id));
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0, next_attempt_at: 'infinity' });
    const listed = (await call('GET', `/v1/webhooks/${webhook}/deliveries?orderId=${o.id}`, { as: support }))
      .body.items;
    expect(listed.find((d: any) => d.type === 'order.paid')).toMatchObject({
      status: 'pending',
      nextAttemptAt: null,
    });
    refuse = false;
    await until('both delivered', async () => r.accepted.filter((a) => a.orderId === o.id).length >= 2);
    expect(r.accepted.filter((a) => a.orderId === o.id).map((a) => a.type)).toEqual([
      'order.created',
      'order.paid',
    ]);
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 90_000);

test('a waiting delivery whose earlier one a worker from before settled is made due by the dispatcher’s sweep', async () => {
  const secret = `whsec_${randomUUID()}`;
  const owner = customer();
  const r = await receiver(secret, (e) =>
    e.data?.order?.customerId === owner.id && e.type === 'order.created' ? 'fail' : 'ok',
  );
  const webhook = await subscribe(r.url, secret, ['order.created', 'order.paid']);
  try {
    const o = await placed(owner);
    await until(
      'a failed attempt',
      async () => (await deliveryRow(webhook, 'order.created', o.id))?.attempts > 0,
    );
    expect((await pay(o.id, o.owner)).status).toBe(200);
    await until('the paid event queued', () => deliveryRow(webhook, 'order.paid', o.id));
    // As an older worker's dispatcher settles it: the row alone, nothing made due behind it.
    const created = await deliveryRow(webhook, 'order.created', o.id);
    await until(
      'settled between attempts',
      async () =>
        (await db('webhook_deliveries')
          .where({ webhook_id: webhook, event_id: created.event_id, status: 'pending' })
          .where((q) => q.whereNull('locked_until').orWhere('locked_until', '<', db.fn.now()))
          .update({ status: 'delivered', delivered_at: db.fn.now(), locked_until: null })) === 1,
    );
    expect(await deliveryRow(webhook, 'order.paid', o.id)).toMatchObject({ next_attempt_at: 'infinity' });
    await until(
      'the paid event delivered',
      async () => r.accepted.some((a) => a.orderId === o.id && a.type === 'order.paid'),
      45_000,
    );
  } finally {
    await unsubscribe(webhook, r.url, secret);
    await r.close();
  }
}, 90_000);
