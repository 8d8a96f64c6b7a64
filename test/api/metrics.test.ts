/** Issue 11: Prometheus metrics on the API and the worker (the SDK's runtime metrics included). */
import { randomUUID } from 'node:crypto';
import { spawnService } from '../../devstack/services';
import { stopChild } from '../../devstack/temporal';
import { freePort, waitFor } from '../../devstack/wait';
import { apiUrl, call, customer, putProduct, uniqueSku } from '../support/api';
import { ownApis } from '../support/own-services';

test('the API exposes request latency, orders placed and process metrics', async () => {
  const sku = uniqueSku('met');
  await putProduct(sku, { stock: 5 });
  expect(
    (await call('POST', '/v1/orders', { as: customer(), body: { items: [{ sku, quantity: 1 }] } })).status,
  ).toBe(201);
  const text = await (await fetch(`${apiUrl()}/metrics`)).text();
  expect(text).toMatch(
    /orders_api_request_duration_seconds_bucket\{[^}]*route="\/v1\/orders"[^}]*status="201"/,
  );
  expect(text).toMatch(/orders_placed_total\{type="standard"\} [1-9]/);
  expect(text).toContain('process_resident_memory_bytes');
});

test('a route’s refusals are counted under its own name, and the client’s capitals name nothing', async () => {
  const sku = uniqueSku('met0');
  await putProduct(sku, { stock: 0 });
  expect(
    (await call('POST', '/v1/orders', { as: customer(), body: { items: [{ sku, quantity: 1 }] } })).status,
  ).toBe(422);
  expect((await fetch(`${apiUrl()}/V1/order-types`)).status).toBe(200);
  const text = await (await fetch(`${apiUrl()}/metrics`)).text();
  expect(text).toMatch(
    /orders_api_request_duration_seconds_bucket\{[^}]*route="\/v1\/orders"[^}]*status="422"/,
  );
  expect(text).toMatch(
    /orders_api_request_duration_seconds_bucket\{[^}]*route="\/v1\/order-types"[^}]*status="200"/,
  );
  expect(text).not.toMatch(/route="\/orders"/);
  expect(text).not.toMatch(/route="\/V1/);
});

test('with METRICS_TOKEN set, only a scraper presenting it reads the metrics', async () => {
  const apis = ownApis();
  try {
    const token = 'scrape-token-0123456789';
    const url = await apis.start({ METRICS_TOKEN: token });
    const read = (authorization?: string) =>
      fetch(`${url}/metrics`, { headers: authorization ? { authorization } : {} });
    for (const wrong of [undefined, 'Bearer nope', `Bearer ${token}x`, token]) {
      const res = await read(wrong);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).not.toContain('process_resident_memory_bytes');
    }
    const res = await read(`Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('process_resident_memory_bytes');
  } finally {
    await apis.stopAll();
  }
}, 90_000);

test("the worker exports the SDK's metrics when WORKER_METRICS_PORT is set", async () => {
  const port = await freePort();
  const worker = spawnService('worker', {
    env: {
      ...process.env,
      TASK_QUEUE: `metrics-${randomUUID().slice(0, 6)}`,
      WORKER_METRICS_PORT: String(port),
    },
    log: () => undefined,
  });
  try {
    let text = '';
    await waitFor(
      'worker metrics',
      async () => {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /temporal_/.test(text);
      },
      60_000,
      500,
    );
    expect(text).toMatch(/temporal_\w+/);
  } finally {
    await stopChild(worker, 5000);
  }
}, 90_000);
