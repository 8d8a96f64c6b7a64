/**
 * Issue 9: a dependency outage is a 503 with Retry-After, nothing half-written, and the API
 * recovers by itself when the dependency comes back.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnService } from '../../devstack/services';
import {
  findTemporalCli,
  startTemporalDevServer,
  stopChild,
  type RunningTemporal,
} from '../../devstack/temporal';
import { freePort, waitFor } from '../../devstack/wait';
import { call, customer, putProduct, uniqueSku } from '../support/api';
import { testDb } from '../support/backends';
import { ownApis } from '../support/own-services';

const db = testDb();
const apis = ownApis();
const children: ChildProcess[] = [];
let temporal: RunningTemporal | undefined;
afterAll(async () => {
  await apis.stopAll();
  await Promise.all(children.map((c) => stopChild(c, 5000)));
  await temporal?.stop();
  await db.destroy();
});
const api = (env: NodeJS.ProcessEnv) => apis.start(env);

test('Temporal unreachable: 503 with Retry-After and nothing written; back without a restart', async () => {
  const temporalPort = await freePort();
  const baseUrl = await api({ TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, TASK_QUEUE: 'outage' });
  const sku = uniqueSku('out');
  await putProduct(sku, { stock: 5 });
  const who = customer();

  const ready = await fetch(`${baseUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect(ready.headers.get('retry-after')).toBe('5');
  // An error like any other: problem+json, naming what does not answer.
  expect(ready.headers.get('content-type')).toMatch(/problem\+json/);
  expect(await ready.json()).toMatchObject({
    status: 503,
    detail: 'not ready: Temporal does not answer',
    postgres: true,
    temporal: false,
  });
  const refused = await call('POST', '/v1/orders', {
    as: who,
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('5');
  expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
  expect(await db('orders').where({ customer_id: who.id })).toHaveLength(0);
  expect((await db('stock_levels').where({ sku }).first('reserved')).reserved).toBe(0);

  // Temporal comes up on that address, with a worker: the same API process serves again.
  const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH);
  temporal = await startTemporalDevServer({
    cli: cli!,
    port: temporalPort,
    uiPort: await freePort(),
    namespace: 'default',
    headless: true,
  });
  children.push(
    spawnService('worker', {
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TASK_QUEUE: 'outage' },
      log: () => undefined,
    }),
  );
  await waitFor('recovery', async () => (await fetch(`${baseUrl}/readyz`)).status === 200, 60_000);
  const placed = await call('POST', '/v1/orders', {
    as: who,
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  expect(placed.status).toBe(201);
}, 120_000);

test('PostgreSQL unreachable: 503 with Retry-After on reads and writes, nothing started', async () => {
  const deadPg = `postgres://postgres:postgres@127.0.0.1:${await freePort()}/orders`;
  const baseUrl = await api({ DATABASE_URL: deadPg, TASK_QUEUE: 'outage-pg' });
  const who = customer();
  for (const [method, path, body] of [
    ['GET', '/v1/orders/ord_x', undefined],
    ['GET', '/v1/orders', undefined],
    ['POST', '/v1/orders', { items: [{ sku: 'any', quantity: 1 }] }],
  ] as const) {
    const reply = await call(method, path, { as: who, baseUrl, body });
    expect({ method, path, status: reply.status, retryAfter: reply.headers.get('retry-after') }).toEqual({
      method,
      path,
      status: 503,
      retryAfter: '5',
    });
  }
  expect((await fetch(`${baseUrl}/readyz`)).status).toBe(503);
}, 60_000);

test('an API asked to stop answers the requests under way (here a 503 after ORDER_ANSWER_TIMEOUT), then exits', async () => {
  const port = await freePort();
  const child = spawnService('api', {
    // No worker polls this queue: a create waits its whole answer timeout.
    env: { ...process.env, PORT: String(port), TASK_QUEUE: 'stopping-no-worker', ORDER_ANSWER_TIMEOUT: '8s' },
    log: () => undefined,
  });
  children.push(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor('api', async () => (await fetch(`${baseUrl}/readyz`)).status === 200, 60_000);
  const sku = uniqueSku('stop');
  await putProduct(sku, { stock: 5 });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  const answer = call('POST', '/v1/orders', {
    as: customer(),
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  await new Promise((r) => setTimeout(r, 1000));
  child.kill('SIGTERM');
  // The answer comes (the outage's 503), not a connection cut 5 s into the stop.
  const reply = await answer;
  expect(reply.status).toBe(503);
  expect(reply.headers.get('retry-after')).toBeTruthy();
  expect(Date.now() - started).toBeGreaterThanOrEqual(7000);
  expect(await exited).toBe(0);
}, 60_000);
