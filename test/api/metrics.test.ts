/** Issue 11: Prometheus metrics on the API and the worker (the SDK's runtime metrics included). */
import { randomUUID } from 'node:crypto';
import { spawnService } from '../../devstack/services';
import { stopChild } from '../../devstack/temporal';
import { freePort, waitFor } from '../../devstack/wait';
import { apiUrl, call, customer, putProduct, uniqueSku } from '../support/api';

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
