/**
 * Issue 24: the production topology (devstack/cluster.ts) as CI can afford to run it: the pinned
 * Temporal server built (or found in its cache), both schemas applied to PostgreSQL, the four
 * services as separate processes with 4 history shards, the namespace and search attributes
 * registered through the operator API; an order through its whole lifecycle on it; a new order
 * answered at once with a 503 while the frontend is down; and the whole stack stopped and started
 * again on the same databases (the schema step runs again, idempotent), the order still there.
 * `npm run test:cluster` runs the API suite and the chaos run on the same topology.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../../config';
import { FORWARD_PATH } from '../../devstack/api-calls';
import { ApiClient, type Caller } from '../../devstack/api-client';
import { CLUSTER_SERVICES, HISTORY_SHARDS, NAMESPACE_RETENTION_HOURS } from '../../devstack/cluster';
import { isolatedStackEnv, prebuiltWorkflowBundle } from '../../devstack/isolated';
import { startStack, type Stack } from '../../devstack/stack';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/messages';

const SECRET = 'cluster-test-secret-for-the-service';
const merchant: Caller = { role: 'merchant', id: 'cluster-merchant' };
const who: Caller = { role: 'customer', id: 'cluster-customer' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack | undefined;
let dataDir = '';
let env: NodeJS.ProcessEnv = {};
const logFile = createWriteStream(path.resolve(__dirname, '..', '..', '.data', 'test-logs', 'cluster.log'));

async function start(): Promise<Stack> {
  stack = await startStack({
    config: loadConfig({ ...process.env, ...env }),
    env,
    headless: true,
    fsync: false,
    log: (source, line) => logFile.write(`[${source}] ${line}\n`),
  });
  return stack;
}

beforeAll(async () => {
  await mkdir(path.resolve(__dirname, '..', '..', '.data', 'test-logs'), { recursive: true });
  const isolated = await isolatedStackEnv('cluster');
  dataDir = isolated.dataDir;
  env = {
    ...isolated.env,
    TEMPORAL_TOPOLOGY: 'cluster',
    AUTH_JWT_SECRET: SECRET,
    AFTER_SALES_WINDOW: '2s',
    LOG_LEVEL: 'warn',
    WORKFLOW_BUNDLE_PATH: await prebuiltWorkflowBundle(dataDir),
    // Its own everything, whatever the environment points at (the test run's dev stack).
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    PAYMENT_PROVIDER_URL: '',
    PAYMENT_SANDBOX_DATABASE_URL: '',
    PAYMENT_WEBHOOK_SECRET: '',
    WAREHOUSE_URL: '',
    WAREHOUSE_WEBHOOK_SECRET: '',
    PAYLOAD_ENCRYPTION_KEYS: '',
  };
  // The first run on a machine builds the server from the Go module proxy (about 3 minutes).
  await start();
}, 900_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
  logFile.end();
});

test('four services as separate processes, 4 history shards, PostgreSQL persistence and SQL visibility, the namespace prepared', async () => {
  const cluster = stack!.temporalCluster!;
  expect([...cluster.processes.keys()].sort()).toEqual([...CLUSTER_SERVICES].sort());
  const pids = [...cluster.processes.values()].map((child) => child.pid);
  expect(new Set(pids).size).toBe(CLUSTER_SERVICES.length);
  const connection = await Connection.connect({ address: stack!.temporalAddress });
  try {
    const info = await connection.workflowService.getClusterInfo({});
    expect(info.historyShardCount).toBe(HISTORY_SHARDS);
    expect(info.persistenceStore).toBe('postgres12');
    expect(info.visibilityStore).toBe('postgres12');
    const namespace = await connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(Number(namespace.config!.workflowExecutionRetentionTtl!.seconds)).toBe(
      NAMESPACE_RETENTION_HOURS * 3600,
    );
    const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(attributes.customAttributes ?? {})).toEqual(
      expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTE_TYPES)),
    );
  } finally {
    await connection.close();
  }
});

let orderId = '';

test('an order goes through its whole lifecycle on the cluster', async () => {
  const api = new ApiClient(stack!.apiUrl, SECRET);
  expect(
    (
      await api.call('PUT', '/v1/products/cluster-mug', merchant, {
        name: 'Mug',
        price: 1250,
        currency: 'USD',
        kind: 'physical',
        stock: 10,
      })
    ).status,
  ).toBeLessThan(300);
  const created = await api.call('POST', '/v1/orders', who, { items: [{ sku: 'cluster-mug', quantity: 2 }] });
  expect(created.status).toBe(201);
  orderId = created.body.order.id;
  expect((await api.call('POST', `/v1/orders/${orderId}/pay`, who, { paymentToken: 'tok_ok' })).status).toBe(
    200,
  );
  const until = async (status: string) => {
    for (let i = 0; i < 150; i++) {
      const order = (await api.call('GET', `/v1/orders/${orderId}`, who)).body.order;
      if (order.status === status) return order;
      await sleep(200);
    }
    throw new Error(`the order did not reach ${status}`);
  };
  await until('IN_PRODUCTION');
  expect(
    (await api.call('POST', `/v1/orders/${orderId}/ship`, merchant, { carrier: 'x', trackingNumber: 'y' }))
      .status,
  ).toBe(200);
  expect((await api.call('POST', `/v1/orders/${orderId}/confirm`, who, {})).status).toBe(200);
  const done = await until('COMPLETED');
  expect(done.history.map((h: { action: string }) => h.action)).toEqual(FORWARD_PATH);
}, 120_000);

test('while the frontend is down a new order is a 503 at once, and the API is not ready; then both come back', async () => {
  const api = new ApiClient(stack!.apiUrl, SECRET);
  const back = stack!.killTemporalService('frontend', 8000);
  back.catch(() => undefined); // awaited below; a failure before that must not go unhandled
  await sleep(1000);
  const begun = Date.now();
  const refused = await api.call('POST', '/v1/orders', who, { items: [{ sku: 'cluster-mug', quantity: 1 }] });
  const ms = Date.now() - begun;
  expect(refused.status).toBe(503);
  expect(ms).toBeLessThan(3000);
  expect((await api.call('GET', '/readyz', null)).status).toBe(503);
  await back;
  const placed = await api.callThroughOutages('POST', '/v1/orders', who, {
    items: [{ sku: 'cluster-mug', quantity: 1 }],
  });
  expect(placed.status).toBe(201);
  expect((await api.call('GET', '/readyz', null)).status).toBe(200);
}, 180_000);

test('stopped and started again on the same databases: the schema step runs again cleanly, and the order is still there', async () => {
  await stack!.stop();
  stack = undefined;
  const again = await start();
  const api = new ApiClient(again.apiUrl, SECRET);
  expect((await api.call('GET', `/v1/orders/${orderId}`, who)).body.order.status).toBe('COMPLETED');
  // Its history is in the cluster's persistence, not only in the order center.
  const connection = await Connection.connect({ address: again.temporalAddress });
  try {
    const history = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: orderId },
    });
    expect(history.history!.events!.length).toBeGreaterThan(10);
  } finally {
    await connection.close();
  }
}, 300_000);
