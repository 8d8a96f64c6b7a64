/**
 * Issue 24: pointed at a cluster whose namespace lacks the order search attributes, the API
 * registers them at start when allowed; when not, it is not ready, says which are missing and how
 * to add them, and a new order is a 503 naming them, never a 500. Against a Temporal dev server of
 * the test's own, started without them.
 */
import { Connection } from '@temporalio/client';
import { missingSearchAttributes } from '../../api/search-attributes';
import { findTemporalCli, startTemporalDevServer, type RunningTemporal } from '../../devstack/temporal';
import { freePort } from '../../devstack/wait';
import { call, customer, putProduct, uniqueSku } from '../support/api';
import { ownApis } from '../support/own-services';

const apis = ownApis();
let temporal: RunningTemporal | undefined;
beforeAll(async () => {
  temporal = await startTemporalDevServer({
    cli: findTemporalCli(process.env.TEMPORAL_CLI_PATH)!,
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    headless: true,
    searchAttributes: false,
  });
}, 60_000);
afterAll(async () => {
  await apis.stopAll();
  await temporal?.stop();
});

test('not allowed to register: not ready, the missing ones named with the command; an order is a 503, not a 500', async () => {
  const baseUrl = await apis.start({
    TEMPORAL_ADDRESS: temporal!.address,
    TASK_QUEUE: 'unprepared',
    TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: 'false',
  });
  const ready = await fetch(`${baseUrl}/readyz`);
  expect(ready.status).toBe(503);
  const body = (await ready.json()) as { temporal: boolean; searchAttributes: string };
  expect(body.temporal).toBe(true);
  expect(body.searchAttributes).toMatch(/OrderType/);
  expect(body.searchAttributes).toContain('scripts/register-search-attributes.ts');

  const sku = uniqueSku('sa');
  await putProduct(sku, { stock: 5 });
  const refused = await call('POST', '/v1/orders', {
    as: customer(),
    baseUrl,
    body: { items: [{ sku, quantity: 1 }] },
  });
  expect(refused.status).toBe(503);
  expect(refused.body.detail).toMatch(/OrderType/);
});

test('allowed (the default on a server you run): registered at start, and ready', async () => {
  const baseUrl = await apis.start({ TEMPORAL_ADDRESS: temporal!.address, TASK_QUEUE: 'unprepared' });
  let status = 0;
  for (let i = 0; i < 40 && status !== 200; i++) {
    status = (await fetch(`${baseUrl}/readyz`)).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 500));
  }
  expect(status).toBe(200);
  const connection = await Connection.connect({ address: temporal!.address });
  try {
    expect(await missingSearchAttributes(connection, 'default')).toEqual([]);
  } finally {
    await connection.close();
  }
}, 60_000);
