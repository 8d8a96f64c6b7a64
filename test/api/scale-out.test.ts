/**
 * Issue 10: API and worker processes are stateless: two of each against one Temporal and one
 * PostgreSQL, orders driven through both APIs, and every order completes exactly once.
 */
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { spawnService } from '../../devstack/services';
import { stopChild } from '../../devstack/temporal';
import { freePort, waitFor } from '../../devstack/wait';
import { auditMoney } from '../../audit/money';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { auditStock } from '../../services/inventory/audit';
import { call, customer, FORWARD_PATH, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { testDb } from '../support/backends';

const db = testDb();
const children: ChildProcess[] = [];
let apis: string[] = [];

beforeAll(async () => {
  const env = { ...process.env, TASK_QUEUE: `scale-${randomUUID().slice(0, 6)}`, AFTER_SALES_WINDOW: '2s' };
  const ports = [await freePort(), await freePort()];
  for (const port of ports)
    children.push(spawnService('api', { env: { ...env, PORT: String(port) }, log: () => undefined }));
  for (let i = 0; i < 2; i++) children.push(spawnService('worker', { env, log: () => undefined }));
  apis = ports.map((p) => `http://127.0.0.1:${p}`);
  for (const api of apis)
    await waitFor(api, async () => (await fetch(`${api}/readyz`)).status === 200, 60_000);
}, 90_000);
afterAll(async () => {
  await Promise.all(children.map((c) => stopChild(c, 5000)));
  await db.destroy();
});

/** Order `i`'s steps go through either API in turn: nothing is kept in a process. */
const viaFor = (i: number) => (step: number) => apis[(i + step) % 2]!;

/** A new order of one unit of `sku`, placed and paid by card; the pay reply's status. */
async function placeAndPay(i: number, sku: string) {
  const via = viaFor(i);
  const who = customer();
  const id = (
    await call('POST', '/v1/orders', {
      as: who,
      baseUrl: via(0),
      body: { items: [{ sku, quantity: 1 }] },
    })
  ).body.order.id as string;
  const paid = await call('POST', `/v1/orders/${id}/pay`, {
    as: who,
    baseUrl: via(1),
    body: { paymentToken: 'tok_ok' },
  });
  return { id, who, via, paid: paid.status };
}

/** The merchant ships it, the customer confirms it; both replies' statuses. */
async function shipAndConfirm(id: string, who: ReturnType<typeof customer>, via: (step: number) => string) {
  const shipped = await call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    baseUrl: via(3),
    body: { carrier: 'x', trackingNumber: 'y' },
  });
  const confirmed = await call('POST', `/v1/orders/${id}/confirm`, { as: who, baseUrl: via(4), body: {} });
  return [shipped.status, confirmed.status];
}

test('20 orders through two APIs and two workers: each completes once', async () => {
  const sku = uniqueSku('scale');
  await putProduct(sku, { price: 1500, stock: 100 }, apis[0]);
  const ids = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const { id, who, via, paid } = await placeAndPay(i, sku);
      expect(paid).toBe(200);
      await waitForOrder(id, who, (o) => o.status === 'IN_PRODUCTION', 30_000, via(2));
      expect(await shipAndConfirm(id, who, via)).toEqual([200, 200]);
      const done = await waitForOrder(id, who, (o) => o.status === 'COMPLETED', 30_000, via(5));
      expect(done.history.map((h: any) => h.action)).toEqual(FORWARD_PATH);
      return id as string;
    }),
  );
  expect(new Set(ids).size).toBe(20);
  const rows = await db('order_history')
    .whereIn('order_id', ids)
    .where('action', 'complete')
    .count<{ n: number }[]>('* as n');
  expect(Number(rows[0]!.n)).toBe(20);
  expect(await db('production_jobs').whereIn('order_id', ids).count<{ n: number }[]>('* as n')).toEqual([
    { n: 20 },
  ]);
  expect(await auditMoney(db, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), ids)).toEqual([]);
  expect((await auditStock(db, [sku]))[0]).toMatchObject({
    onHand: 80,
    reserved: 0,
    sold: 20,
    balanced: true,
  });
}, 120_000);

test('one of the two workers SIGKILLed under load: nothing is lost, and the other carries every order to the end', async () => {
  const sku = uniqueSku('scale-kill');
  await putProduct(sku, { price: 1200, stock: 100 }, apis[0]);
  const [, , victim] = children; // apis first, then the two workers
  const orders = 30;
  const started = Date.now();
  let paid = 0;
  let killedAfter = 0;
  const ids = await Promise.all(
    Array.from({ length: orders }, async (_, i) => {
      const { id, who, via } = await placeAndPay(i, sku);
      // A third of the way in, one worker dies mid-work: its tasks and activities time out and the other takes them.
      if (++paid === Math.floor(orders / 3)) {
        victim!.kill('SIGKILL');
        killedAfter = (Date.now() - started) / 1000;
      }
      await waitForOrder(id, who, (o) => o.status === 'IN_PRODUCTION', 90_000, via(2));
      await shipAndConfirm(id, who, via);
      await waitForOrder(id, who, (o) => o.status === 'COMPLETED', 90_000, via(5));
      return id;
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  expect(victim!.signalCode).toBe('SIGKILL');
  const completions = await db('order_history')
    .whereIn('order_id', ids)
    .where('action', 'complete')
    .count<{ n: number }[]>('* as n');
  expect(Number(completions[0]!.n)).toBe(orders);
  const jobs = await db('production_jobs').whereIn('order_id', ids).count<{ n: number }[]>('* as n');
  expect(Number(jobs[0]!.n)).toBe(orders);
  expect(await auditMoney(db, new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!), ids)).toEqual([]);
  expect((await auditStock(db, [sku]))[0]).toMatchObject({ sold: orders, reserved: 0, balanced: true });
  console.log(
    `scale-out (${process.env.TEMPORAL_TOPOLOGY ?? 'dev'}): ${orders} orders through 2 APIs and 2 workers; one worker SIGKILLed ${killedAfter.toFixed(1)} s in, after ${Math.floor(orders / 3)} payments; the other completed all ${orders}, each once, in ${seconds.toFixed(1)} s (${(orders / seconds).toFixed(2)} orders/s)`,
  );
}, 240_000);
