/**
 * `npm run bench`: the service measured against Temporal's own ceiling, side by side in one run
 * (this machine is shared and noisy, so the figures that matter are ratios). Starts its own stack
 * through the devstack module, prints every figure with a live progress bar, and writes
 * docs/BENCHMARKS.md with the machine and the date.
 *   npm run bench [-- --orders 200 --concurrency 20 --open 10000 --rate 20]
 *   npm run bench -- --profile DIR: sections 1 and 2 only, with the worker and the API writing V8
 *   CPU profiles (.cpuprofile, for Chrome's DevTools) into DIR when the stack stops.
 *   npm run bench -- --quick: sections 1 and 2 only, their figures printed (for a before/after pair).
 */
import { isolatedStackEnv, prebuiltWorkflowBundle } from '../devstack/isolated';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { noopAnswer } from './noop-workflows';
import { cpuSecondsByGroup, sampleCpu } from './cpu';
import { loadConfig } from '../config';
import { ApiClient, type Caller } from '../devstack/api-client';
import { startStack, type Stack } from '../devstack/stack';
import { stopChild } from '../devstack/temporal';
import { spawn } from 'node:child_process';
import { freePort, waitFor } from '../devstack/wait';
import { writeDoc } from '../scripts/write-doc';
import { createDb } from '../db/knex';
import { signToken } from '../api/auth';
import { SEEDED_REQUEST_ID, seedOrders } from '../devstack/seed-orders';
import { loadOrder } from '../services/orders/read-order';
import { recordTransition } from '../services/orders/record-transition';

const SECRET = 'bench-secret-for-the-order-service';
/** How long the sandbox provider takes to settle a bank transfer, and the sandbox warehouse each step. */
const RICH_PATH_STEP = '200ms';
const TUNING_HEADING = '## Tuning';
const CLUSTER_HEADING = '## On the production topology';
const BENCHMARKS = path.resolve(__dirname, '..', 'docs', 'BENCHMARKS.md');
const merchant: Caller = { role: 'merchant', id: 'bench-merchant' };
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sizes = {
  orders: arg('orders', 200),
  concurrency: arg('concurrency', 20),
  open: arg('open', 10_000),
  rate: arg('rate', 20),
  seconds: arg('seconds', 15),
  // 7. Orders seeded straight to PostgreSQL for the order center's queries (0: skip), and runs per query.
  seed: arg('seed', 1_000_000),
  queryRuns: arg('query-runs', 40),
};

/** --profile DIR: where the worker and the API write their CPU profiles. */
const profileDir = (() => {
  const i = process.argv.indexOf('--profile');
  const dir = process.argv[i + 1];
  return i > 0 ? path.resolve(dir && !dir.startsWith('--') ? dir : 'profiles') : undefined;
})();

// A live progress bar on stderr; figures go to stdout.
let section = '';
function progress(done: number, total: number) {
  const width = 30;
  const filled = Math.round((done / Math.max(total, 1)) * width);
  process.stderr.write(
    `\r${section.padEnd(34)} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}   `,
  );
  if (done >= total) process.stderr.write('\n');
}

async function pool<T>(count: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
        progress(++done, count);
      }
    }),
  );
  return results;
}

const rssOf = (pid?: number) => {
  if (!pid) return 0;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
};
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Arrivals at a fixed rate whatever the responses do (open model); returns each request's latency in ms. */
async function openModel(rate: number, seconds: number, request: () => Promise<unknown>): Promise<number[]> {
  const total = rate * seconds;
  const latencies: number[] = [];
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(
      (async () => {
        const t0 = performance.now();
        await request();
        latencies.push(performance.now() - t0);
        progress(latencies.length, total);
      })(),
    );
  }
  await Promise.all(inflight);
  return latencies;
}

interface CenterQuery {
  name: string;
  p50: number;
  p95: number;
}

interface Figures {
  seedSeconds: number;
  centerQueries: CenterQuery[];
  exportRows: number;
  exportRowsPerSecond: number;
  exportPeakRssMb: number;
  /** The API's RSS just before the export: what the export adds is the difference. */
  exportBaseRssMb: number;
  lifecycleOrdersPerSecond: number;
  /** CPU milliseconds per order in section 1, by process. */
  cpuMsPerOrder: Record<string, number>;
  /** The same for one no-op workflow of the ceiling. */
  noopCpuMsPerWorkflow: Record<string, number>;
  eventsPerOrder: number;
  tasksPerOrder: number;
  activitiesPerOrder: number;
  localActivitiesPerOrder: number;
  lifecycleEventsPerSecond: number;
  noopEventsPerSecond: number;
  noopEventsPerWorkflow: number;
  noopWorkflowsPerSecond: number;
  ceilingRatio: number;
  apiP50: number;
  apiP99: number;
  startP50: number;
  startP99: number;
  /** A no-op Update sent with the start, answered by the workflow: the floor under POST /v1/orders. */
  updateStartP50: number;
  updateStartP99: number;
  latencyRatio: number;
  hotPerSecond: number;
  spreadPerSecond: number;
  hotRatio: number;
  oversold: number;
  rssPerCachedWorkflowKb: number;
  openOrders: number;
  cachedWorkflows: number;
  workerRssMb: number;
  serverRssMb: number;
  loadedOrdersPerSecond: number;
  scaleRatio: number;
  webhookOrdersPerSecond: number;
  webhookRatio: number;
  eventsDelivered: number;
  deliveriesPerSecond: number;
  deliveryLagP50: number;
  deliveryLagP95: number;
  statementMsWithout: number;
  statementMsWith: number;
  /** 8. The richer path's lifecycle, measured as section 1's. */
  rich: {
    perSecond: number;
    cpuMsPerOrder: Record<string, number>;
    eventsPerOrder: number;
    tasksPerOrder: number;
    activitiesPerOrder: number;
    localActivitiesPerOrder: number;
  };
}

/**
 * 7. Seeds `sizes.seed` orders (devstack/seed-orders.ts), then times each list filter and sort,
 * the stats and a full export through the API as a merchant: p50 and p95 of `sizes.queryRuns`
 * calls each; the export's rows per second and the API process's peak RSS while it streams, less its RSS just before (what the API holds from earlier requests is not the export's: the export runs in a thread of its own with a capped heap).
 */
async function orderCenter(stack: Stack, api: ApiClient, f: Figures): Promise<void> {
  section = `7 seeding ${sizes.seed} orders`;
  const db = createDb(stack.databaseUrl, { pool: { min: 0, max: 1 }, queryTimeoutMs: 0 });
  const seeded = performance.now();
  let sample: { id: string; customer_id: string; channel: string; tracking: string };
  try {
    await seedOrders(db, { orders: sizes.seed, onBatch: (done) => progress(done, sizes.seed) });
    sample = (
      await db.raw(
        `SELECT id, customer_id, channel, details->'shipment'->>'trackingNumber' AS tracking
           FROM orders WHERE request_id = '${SEEDED_REQUEST_ID}' AND details->'shipment' IS NOT NULL LIMIT 1`,
      )
    ).rows[0];
  } finally {
    await db.destroy();
  }
  f.seedSeconds = (performance.now() - seeded) / 1000;
  const month = encodeURIComponent(new Date(Date.now() - 30 * 86_400_000).toISOString());
  const week = encodeURIComponent(new Date(Date.now() - 7 * 86_400_000).toISOString());
  const queries: [string, string][] = [
    ['list, newest first', '/v1/orders?limit=50'],
    ['list, oldest first', '/v1/orders?limit=50&sort=createdAt'],
    ['list by total (USD)', '/v1/orders?limit=50&sort=-total&currency=USD'],
    ['a customer', `/v1/orders?limit=50&customerId=${sample.customer_id}`],
    ['a channel', '/v1/orders?limit=50&channel=partner-mall'],
    ['a status', '/v1/orders?limit=50&status=SHIPPED'],
    ['a payment status', '/v1/orders?limit=50&paymentStatus=refunded'],
    ['a SKU', '/v1/orders?limit=50&sku=seed-sku-17'],
    ['an order id’s beginning', `/v1/orders?limit=50&q=${sample.id.slice(0, 9)}`],
    ['a tracking number', `/v1/orders?limit=50&q=${sample.tracking}`],
    ['a month', `/v1/orders?limit=50&createdFrom=${month}`],
    ['totals above 300.00 USD', '/v1/orders?limit=50&currency=USD&minTotal=30000'],
    ['stats by status, a week', `/v1/orders/stats?groupBy=status&createdFrom=${week}`],
    ['stats by channel, a month', `/v1/orders/stats?groupBy=channel&createdFrom=${month}`],
    ['stats by day, a month', `/v1/orders/stats?groupBy=day&createdFrom=${month}`],
  ];
  f.centerQueries = [];
  for (const [n, [name, path]] of queries.entries()) {
    section = `7 ${name}`;
    progress(n, queries.length);
    const times: number[] = [];
    for (let i = 0; i < sizes.queryRuns; i++) {
      const started = performance.now();
      const reply = await api.call('GET', path, merchant);
      times.push(performance.now() - started);
      if (reply.status !== 200) throw new Error(`${name}: ${reply.status}`);
    }
    f.centerQueries.push({ name, p50: quantile(times, 0.5), p95: quantile(times, 0.95) });
  }
  section = '7 export';
  const apiPid = stack.children.get('api')?.pid;
  let peak = rssOf(apiPid);
  f.exportBaseRssMb = peak / 1024 / 1024;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(apiPid))), 100);
  const started = performance.now();
  let rows = -1; // the header row
  try {
    const res = await fetch(`${stack.apiUrl}/v1/orders/export?rows=order`, {
      headers: { authorization: `Bearer ${signToken(SECRET, merchant.id, merchant.role)}` },
    });
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
      for (const byte of chunk) if (byte === 10) rows++;
  } finally {
    clearInterval(sampler);
  }
  f.exportRows = rows;
  f.exportRowsPerSecond = rows / ((performance.now() - started) / 1000);
  f.exportPeakRssMb = peak / 1024 / 1024;
}

/**
 * One stack of the given topology, measured: every section, or (`full` false) the lifecycle, the
 * no-op ceiling and the latencies only, which `--cluster` compares across the two topologies.
 */
async function measure(topology: 'dev' | 'cluster', full: boolean): Promise<Figures> {
  const { dataDir, env: isolated } = await isolatedStackEnv('bench');
  const bundlePath = await prebuiltWorkflowBundle(dataDir);
  const workerMetricsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...isolated,
    // The worker's own figures, to count the workflows it really holds in its cache.
    WORKER_METRICS_PORT: String(workerMetricsPort),
    AUTH_JWT_SECRET: SECRET,
    PAYMENT_TIMEOUT: '2h',
    AUTO_CONFIRM_AFTER: '1h',
    AFTER_SALES_WINDOW: '1s',
    // The richer path (section 8): a bank transfer settled by webhook, a warehouse that ships.
    PAYMENT_SANDBOX_ASYNC_DELAY: RICH_PATH_STEP,
    WAREHOUSE_SANDBOX_STEP: RICH_PATH_STEP,
    RATE_LIMIT_PER_MINUTE: '100000000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '100000000',
    LOG_LEVEL: 'error',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    PAYLOAD_ENCRYPTION_KEYS: '',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    // Its own payment provider too, whatever the environment points at (a test stack's).
    PAYMENT_PROVIDER_URL: '',
    PAYMENT_SANDBOX_DATABASE_URL: '',
    PAYMENT_WEBHOOK_SECRET: '',
    TEMPORAL_TOPOLOGY: topology,
    ...(profileDir ? { CPU_PROFILE_DIR: profileDir } : {}),
  };
  const config = loadConfig({ ...process.env, ...env });
  process.stderr.write(`starting the stack (${topology === 'dev' ? 'the dev server' : 'the cluster'})...\n`);
  const stack: Stack = await startStack({ config, env, headless: true, log: () => undefined });
  const api = new ApiClient(stack.apiUrl, SECRET);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  // The baselines' worker, in a process of its own (bench/noop-worker.ts), as the order worker is.
  const noopWorker = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'noop-worker.ts')], {
    env: { ...process.env, TEMPORAL_ADDRESS: stack.temporalAddress },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const f = {} as Figures;

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the no-op worker did not start within 60 s')), 60_000);
      noopWorker.stdout!.on('data', (chunk: Buffer) => {
        if (!chunk.toString().includes('ready')) return;
        clearTimeout(timer);
        resolve();
      });
      noopWorker.once('exit', (code) => reject(new Error(`the no-op worker exited (${code})`)));
    });
    const product = async (sku: string, stock: number) =>
      api.call('PUT', `/v1/products/${sku}`, merchant, {
        name: sku,
        price: 1000,
        currency: 'USD',
        kind: 'physical',
        stock,
      });
    const sku = `bench-${randomUUID().slice(0, 6)}`;
    await product(sku, 10_000_000);

    /** CPU ms per unit of work since `before`, by process group (bench/cpu.ts). */
    const cpuMsPer = (before: ReturnType<typeof sampleCpu>, units: number) => {
      const pids = stack.serverPids();
      const pidsOf = (keys: (key: string) => boolean) =>
        [...stack.children].filter(([key]) => keys(key)).map(([, child]) => child.pid);
      const cpu = cpuSecondsByGroup(before, sampleCpu(), {
        worker: pidsOf((key) => key.startsWith('worker')),
        API: pidsOf((key) => key.startsWith('api')),
        Temporal: pids.temporal,
        PostgreSQL: [pids.postgres],
        sandboxes: pidsOf((key) => !key.startsWith('worker') && !key.startsWith('api')),
        'the driver': [process.pid],
        'no-op worker': [noopWorker.pid],
      });
      return Object.fromEntries(Object.entries(cpu).map(([group, s]) => [group, (s * 1000) / units]));
    };

    /**
     * The lifecycle at concurrency C. Standard: paid by card at once, shipped by the merchant.
     * Rich (section 8): paid by a bank transfer the provider settles later (its webhook), shipped
     * by the sandbox warehouse, through an API whose orders are fulfilled that way.
     */
    const lifecycle = async (label: string, rich?: ApiClient, orders = sizes.orders) => {
      section = label;
      const via = rich ?? api;
      const cpuBefore = sampleCpu();
      const started = performance.now();
      const ids = await pool(orders, sizes.concurrency, async (i) => {
        // A token's sub is printable ASCII without spaces (api/auth.ts): the label's words joined.
        const who: Caller = { role: 'customer', id: `bench-${label.replace(/[^A-Za-z0-9]+/g, '-')}-${i}` };
        const id = (await via.call('POST', '/v1/orders', who, { items: [{ sku, quantity: 1 }] })).body.order
          .id as string;
        await via.call('POST', `/v1/orders/${id}/pay`, who, {
          paymentToken: rich ? 'tok_async_ok' : 'tok_ok',
        });
        const until = async (status: string) => {
          for (let t = 0; t < 600; t++) {
            if ((await via.call('GET', `/v1/orders/${id}`, who)).body.order.status === status) return;
            await sleep(50);
          }
          throw new Error(`order ${id} did not reach ${status}`);
        };
        if (rich) await until('SHIPPED');
        else {
          await until('IN_PRODUCTION');
          await via.call('POST', `/v1/orders/${id}/ship`, merchant, { carrier: 'b', trackingNumber: 'b' });
        }
        await via.call('POST', `/v1/orders/${id}/confirm`, who, {});
        await client.workflow.getHandle(id).result();
        return id;
      });
      const seconds = (performance.now() - started) / 1000;
      const cpuMsPerOrder = cpuMsPer(cpuBefore, orders);
      // What one order costs the server: its history's events, workflow tasks, activities (each a
      // round trip through the server) and local activities (run within a workflow task).
      const sample = await Promise.all(
        ids.slice(0, 10).map(async (id) => {
          // The order's workflow and, on the richer path, its fulfilments (child workflows).
          const workflows = [id];
          if (rich)
            for await (const child of client.workflow.list({ query: `WorkflowId STARTS_WITH '${id}-'` }))
              workflows.push(child.workflowId);
          const events = (
            await Promise.all(
              workflows.map(async (w) => (await client.workflow.getHandle(w).fetchHistory()).events!),
            )
          ).flat();
          const count = (type: keyof typeof temporal.api.enums.v1.EventType) =>
            events.filter((e) => e.eventType === temporal.api.enums.v1.EventType[type]).length;
          return {
            events: events.length,
            tasks: count('EVENT_TYPE_WORKFLOW_TASK_COMPLETED'),
            activities: count('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED'),
            localActivities: events.filter(
              (e) =>
                e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_MARKER_RECORDED &&
                e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
            ).length,
          };
        }),
      );
      const mean = (of: (s: (typeof sample)[number]) => number) =>
        sample.reduce((a, s) => a + of(s), 0) / sample.length;
      return {
        perSecond: orders / seconds,
        cpuMsPerOrder,
        eventsPerOrder: mean((s) => s.events),
        tasksPerOrder: mean((s) => s.tasks),
        activitiesPerOrder: mean((s) => s.activities),
        localActivitiesPerOrder: mean((s) => s.localActivities),
      };
    };

    // 1. Lifecycle throughput, and the no-op ceiling on the same server. Each is measured after a
    // warm-up that is not counted (twice the concurrency), so that both compare steady states, not
    // processes whose code is still being compiled (the first orders after a start are slower).
    const warmUp = sizes.concurrency * 2;
    await lifecycle('0 warm-up: lifecycle', undefined, warmUp);
    const life = await lifecycle('1 lifecycle (no open orders)');
    f.lifecycleOrdersPerSecond = life.perSecond;
    f.cpuMsPerOrder = life.cpuMsPerOrder;
    f.eventsPerOrder = life.eventsPerOrder;
    f.tasksPerOrder = life.tasksPerOrder;
    f.activitiesPerOrder = life.activitiesPerOrder;
    f.localActivitiesPerOrder = life.localActivitiesPerOrder;
    f.lifecycleEventsPerSecond = life.perSecond * life.eventsPerOrder;
    section = '0 warm-up: no-op';
    await pool(warmUp, sizes.concurrency, (i) =>
      client.workflow.execute('noopWorkflow', {
        workflowId: `noop-warm-${i}-${randomUUID().slice(0, 6)}`,
        taskQueue: 'bench-noop',
      }),
    );
    section = '1 no-op ceiling';
    const noopCount = sizes.orders * 3;
    const noopCpuBefore = sampleCpu();
    const noopStart = performance.now();
    const noopIds = await pool(noopCount, sizes.concurrency, async (i) => {
      const id = `noop-${i}-${randomUUID().slice(0, 6)}`;
      await client.workflow.execute('noopWorkflow', { workflowId: id, taskQueue: 'bench-noop' });
      return id;
    });
    const noopSeconds = (performance.now() - noopStart) / 1000;
    f.noopCpuMsPerWorkflow = cpuMsPer(noopCpuBefore, noopCount);
    f.noopEventsPerWorkflow = (await client.workflow.getHandle(noopIds[0]!).fetchHistory()).events!.length;
    f.noopEventsPerSecond = (noopCount / noopSeconds) * f.noopEventsPerWorkflow;
    f.ceilingRatio = f.lifecycleEventsPerSecond / f.noopEventsPerSecond;
    f.noopWorkflowsPerSecond = noopCount / noopSeconds;

    // 6. Events out (run here, beside section 1, on the same load): the lifecycle with a webhook
    // subscriber hearing every event, against section 1; how late deliveries come and how fast
    // they go; and what the outbox adds to one transition's statement.
    if (full) {
      const db = createDb(stack.databaseUrl, { pool: { min: 0, max: 2 } });
      const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => void res.writeHead(204).end());
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const hook = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
        events: ['*'],
        secret: 'bench-webhook-secret-0123456789',
      };
      try {
        await api.call('PUT', '/v1/webhooks/bench', merchant, hook);
        const since = new Date();
        const withHook = await lifecycle('6 lifecycle (a webhook hears all)');
        f.webhookOrdersPerSecond = withHook.perSecond;
        f.webhookRatio = withHook.perSecond / f.lifecycleOrdersPerSecond;
        for (let t = 0; t < 600; t++) {
          const pending = await db('webhook_deliveries')
            .where({ webhook_id: 'bench', status: 'pending' })
            .first('event_id');
          if (!pending) break;
          await sleep(200);
        }
        const rows: { lag: number; delivered: Date; occurred: Date }[] = await db('webhook_deliveries as d')
          .join('order_events as e', 'e.id', 'd.event_id')
          .where('d.webhook_id', 'bench')
          .andWhere('e.occurred_at', '>=', since)
          .whereNotNull('d.delivered_at')
          .select(
            db.raw('extract(epoch from (d.delivered_at - e.occurred_at)) * 1000 AS lag'),
            'd.delivered_at as delivered',
            'e.occurred_at as occurred',
          );
        const lags = rows.map((r) => Number(r.lag));
        f.eventsDelivered = rows.length;
        f.deliveryLagP50 = quantile(lags, 0.5);
        f.deliveryLagP95 = quantile(lags, 0.95);
        const first = Math.min(...rows.map((r) => new Date(r.occurred).getTime()));
        const last = Math.max(...rows.map((r) => new Date(r.delivered).getTime()));
        f.deliveriesPerSecond = rows.length / ((last - first) / 1000);
        await api.call('PUT', '/v1/webhooks/bench', merchant, { ...hook, active: false });

        // One transition's statement with and without its events, on an order of the bench's own.
        section = '6 outbox cost per statement';
        const who: Caller = { role: 'customer', id: 'bench-outbox' };
        const id = (await api.call('POST', '/v1/orders', who, { items: [{ sku, quantity: 1 }] })).body.order
          .id;
        const order = (await loadOrder(db, id))!;
        const { history, id: _id, ...snapshot } = order;
        let seq = history.length;
        const timeOf = async (announce: boolean, n: number) => {
          const started = performance.now();
          for (let i = 0; i < n; i++) {
            seq++;
            const entry = {
              seq,
              from: order.status,
              action: 'bench',
              to: order.status,
              actor: 'system',
              at: new Date().toISOString(),
            };
            await recordTransition(db, id, entry, snapshot, { announce });
          }
          return (performance.now() - started) / n;
        };
        let without = 0;
        let withEvents = 0;
        for (let round = 0; round < 5; round++) {
          without += await timeOf(false, 100);
          withEvents += await timeOf(true, 100);
          progress(round + 1, 5);
        }
        f.statementMsWithout = without / 5;
        f.statementMsWith = withEvents / 5;
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
        await db.destroy();
      }
    }

    // 2. API latency at a fixed arrival rate, against a bare workflow start at the same rate.
    section = `2 POST /v1/orders at ${sizes.rate}/s`;
    const apiLatency = await openModel(sizes.rate, sizes.seconds, () =>
      api.call(
        'POST',
        '/v1/orders',
        { role: 'customer', id: `lat-${randomUUID().slice(0, 8)}` },
        { items: [{ sku, quantity: 1 }] },
      ),
    );
    section = `2 bare start at ${sizes.rate}/s`;
    const startLatency = await openModel(sizes.rate, sizes.seconds, () =>
      client.workflow.start('noopWorkflow', { workflowId: `start-${randomUUID()}`, taskQueue: 'bench-noop' }),
    );
    section = `2 no-op update-with-start at ${sizes.rate}/s`;
    const updateStartLatency = await openModel(sizes.rate, sizes.seconds, () =>
      client.workflow.executeUpdateWithStart(noopAnswer, {
        startWorkflowOperation: new WithStartWorkflowOperation('noopUpdateWorkflow', {
          workflowId: `answer-${randomUUID()}`,
          taskQueue: 'bench-noop',
          workflowIdConflictPolicy: 'FAIL',
        }),
      }),
    );
    [f.apiP50, f.apiP99, f.startP50, f.startP99, f.updateStartP50, f.updateStartP99] = [
      quantile(apiLatency, 0.5),
      quantile(apiLatency, 0.99),
      quantile(startLatency, 0.5),
      quantile(startLatency, 0.99),
      quantile(updateStartLatency, 0.5),
      quantile(updateStartLatency, 0.99),
    ];
    f.latencyRatio = f.apiP99 / f.updateStartP99;
    if (!full) return f;

    // 8. The richer path: a second API whose orders are fulfilled by the warehouse, same worker.
    const richPort = await freePort();
    const richApi = stack.startService('api', 'api-rich', {
      ...stack.childEnv,
      PORT: String(richPort),
      FULFILMENT: 'warehouse',
    });
    try {
      const richUrl = `http://127.0.0.1:${richPort}`;
      await waitFor(
        'the second API (FULFILMENT=warehouse)',
        async () => (await fetch(`${richUrl}/readyz`)).status === 200,
        120_000,
        200,
      );
      const rich = await lifecycle('8 async payment, warehouse', new ApiClient(richUrl, SECRET));
      f.rich = rich;
    } finally {
      await stopChild(richApi, 15_000);
    }

    // 3. Hot product: every order on one SKU, against the same load over many; stock for half of them.
    const reservations = async (label: string, skus: string[]) => {
      section = label;
      for (const s of skus) await product(s, Math.ceil(sizes.orders / 2 / skus.length));
      const started = performance.now();
      const statuses = await pool(
        sizes.orders,
        sizes.concurrency * 2,
        async (i) =>
          (
            await api.call(
              'POST',
              '/v1/orders',
              { role: 'customer', id: `hot-${randomUUID().slice(0, 8)}` },
              { items: [{ sku: skus[i % skus.length], quantity: 1 }] },
            )
          ).status,
      );
      const accepted = statuses.filter((s) => s === 201).length;
      const stock = skus.length * Math.ceil(sizes.orders / 2 / skus.length);
      return {
        perSecond: sizes.orders / ((performance.now() - started) / 1000),
        oversold: Math.max(0, accepted - stock),
      };
    };
    const hot = await reservations('3 hot SKU', [`hot-${randomUUID().slice(0, 6)}`]);
    const spread = await reservations(
      '3 spread over 20 SKUs',
      Array.from({ length: 20 }, () => `spread-${randomUUID().slice(0, 6)}`),
    );
    f.hotPerSecond = hot.perSecond;
    f.spreadPerSecond = spread.perSecond;
    f.hotRatio = hot.perSecond / spread.perSecond;
    f.oversold = hot.oversold + spread.oversold;

    // 4. Memory: open orders waiting for payment, cached in the worker.
    const workerPid = stack.children.get('worker')?.pid;
    const cached = async () => {
      const text = await (await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`)).text();
      return Number(/^temporal_sticky_cache_size(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    const open = async (from: number, to: number) => {
      section = `4 open ${to} orders`;
      await pool(to - from, sizes.concurrency * 2, async (i) =>
        api.call(
          'POST',
          '/v1/orders',
          { role: 'customer', id: `open-${from + i}` },
          { items: [{ sku, quantity: 1 }] },
        ),
      );
      await sleep(2000);
    };
    // Per cached workflow, measured while the cache still has room: once it is full
    // (WORKER_MAX_CACHED_WORKFLOWS, or the SDK's default from the heap size), the worker evicts, and
    // RSS then counts evicted garbage, not workflows held.
    const firstBatch = Math.min(sizes.open, 1500);
    const rssBefore = rssOf(workerPid);
    const cachedBefore = await cached();
    await open(0, firstBatch);
    f.rssPerCachedWorkflowKb = (rssOf(workerPid) - rssBefore) / 1024 / ((await cached()) - cachedBefore);
    await open(firstBatch, sizes.open);
    const rssAfter = rssOf(workerPid);
    f.openOrders = sizes.open;
    f.cachedWorkflows = await cached();
    f.workerRssMb = rssAfter / 1024 / 1024;
    const pids = stack.serverPids();
    f.serverRssMb =
      [...pids.temporal, pids.postgres].reduce<number>((sum, pid) => sum + rssOf(pid), 0) / 1024 / 1024;

    // 5. Scale: the lifecycle again, with the open orders in place.
    const loaded = await lifecycle(`5 lifecycle (${sizes.open} open)`);
    f.loadedOrdersPerSecond = loaded.perSecond;
    f.scaleRatio = loaded.perSecond / f.lifecycleOrdersPerSecond;

    // 7. The order center at a million orders, seeded straight to PostgreSQL, read through the API.
    if (sizes.seed > 0) await orderCenter(stack, api, f);
  } finally {
    await stopChild(noopWorker, 15_000);
    await connection.close();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return f;
}

const met = (ok: boolean) => (ok ? 'met' : 'not met');
/** "12 ms in all: worker 5, Temporal 4, …", largest first, idle groups left out. */
const cpuLine = (ms: Record<string, number>) => {
  const parts = Object.entries(ms)
    .filter(([, v]) => v >= 0.5)
    .sort((a, b) => b[1] - a[1]);
  const total = parts.reduce((sum, [, v]) => sum + v, 0);
  return `${total.toFixed(0)} ms in all: ${parts.map(([g, v]) => `${g} ${v.toFixed(0)}`).join(', ')}`;
};

async function main() {
  const benchStarted = performance.now();
  if (process.argv.includes('--cluster')) return compareTopologies(benchStarted);
  if (profileDir || process.argv.includes('--quick')) {
    const f = await measure('dev', false);
    console.log(
      `${f.lifecycleOrdersPerSecond.toFixed(2)} orders/s against ${f.noopWorkflowsPerSecond.toFixed(1)} no-op workflows/s: ratio ${(f.lifecycleOrdersPerSecond / f.noopWorkflowsPerSecond).toFixed(3)}; ${f.eventsPerOrder.toFixed(0)} events, ${f.tasksPerOrder.toFixed(1)} tasks, ${f.activitiesPerOrder.toFixed(1)} activities, ${f.localActivitiesPerOrder.toFixed(1)} local activities per order; CPU per order: ${cpuLine(f.cpuMsPerOrder)}; per no-op workflow: ${cpuLine(f.noopCpuMsPerWorkflow)}${profileDir ? `\nprofiles in ${profileDir}` : ''}`,
    );
    return;
  }
  const f = await measure('dev', true);
  const rows = [
    [
      '1',
      'lifecycle throughput',
      `${f.lifecycleOrdersPerSecond.toFixed(2)} orders/s, ${f.eventsPerOrder.toFixed(0)} events/order, ${f.lifecycleEventsPerSecond.toFixed(0)} events/s`,
      '',
    ],
    [
      '1',
      'what one order costs the server',
      `${f.tasksPerOrder.toFixed(1)} workflow tasks, ${f.activitiesPerOrder.toFixed(1)} activities, ${f.localActivitiesPerOrder.toFixed(1)} local activities`,
      `events ≤ 45: ${met(f.eventsPerOrder <= 45)}; tasks ≤ 6: ${met(f.tasksPerOrder <= 6)}`,
    ],
    ['1', 'CPU per order, by process', cpuLine(f.cpuMsPerOrder), ''],
    [
      '1',
      'no-op ceiling (same server)',
      `${f.noopEventsPerSecond.toFixed(0)} events/s (${f.noopEventsPerWorkflow} events/workflow)`,
      '',
    ],
    ['1', 'CPU per no-op workflow, by process', cpuLine(f.noopCpuMsPerWorkflow), ''],
    ['1', 'events/s ratio to the ceiling', f.ceilingRatio.toFixed(2), `≥ 0.8: ${met(f.ceilingRatio >= 0.8)}`],
    [
      '1',
      'orders/s against no-op workflows/s',
      `${f.lifecycleOrdersPerSecond.toFixed(2)} vs ${f.noopWorkflowsPerSecond.toFixed(1)}: ratio ${(f.lifecycleOrdersPerSecond / f.noopWorkflowsPerSecond).toFixed(3)}`,
      `≥ 0.22: ${met(f.lifecycleOrdersPerSecond / f.noopWorkflowsPerSecond >= 0.22)}`,
    ],
    [
      '2',
      `POST /v1/orders at ${sizes.rate}/s`,
      `p50 ${f.apiP50.toFixed(0)} ms, p99 ${f.apiP99.toFixed(0)} ms`,
      '',
    ],
    [
      '2',
      `bare workflow start at ${sizes.rate}/s`,
      `p50 ${f.startP50.toFixed(0)} ms, p99 ${f.startP99.toFixed(0)} ms`,
      '',
    ],
    [
      '2',
      `no-op update-with-start at ${sizes.rate}/s (its worker in a process of its own)`,
      `p50 ${f.updateStartP50.toFixed(0)} ms, p99 ${f.updateStartP99.toFixed(0)} ms`,
      '',
    ],
    [
      '2',
      'p99 ratio, POST /v1/orders to the no-op update-with-start',
      f.latencyRatio.toFixed(2),
      `≤ 1.5: ${met(f.latencyRatio <= 1.5)}`,
    ],
    [
      '3',
      'hot SKU vs spread',
      `${f.hotPerSecond.toFixed(1)} vs ${f.spreadPerSecond.toFixed(1)} orders/s: ratio ${f.hotRatio.toFixed(2)}`,
      `≥ 0.5: ${met(f.hotRatio >= 0.5)}`,
    ],
    ['3', 'oversold', String(f.oversold), `0: ${met(f.oversold === 0)}`],
    [
      '4',
      'worker RSS per cached workflow',
      `${f.rssPerCachedWorkflowKb.toFixed(0)} KB`,
      `≤ 256 KB: ${met(f.rssPerCachedWorkflowKb <= 256)}`,
    ],
    [
      '4',
      `memory with ${f.openOrders} open orders`,
      `worker ${f.workerRssMb.toFixed(0)} MB (${f.cachedWorkflows} workflows in its cache), Temporal + PostgreSQL ${f.serverRssMb.toFixed(0)} MB`,
      '',
    ],
    [
      '5',
      `throughput with ${f.openOrders} open orders`,
      `${f.loadedOrdersPerSecond.toFixed(2)} orders/s: ratio ${f.scaleRatio.toFixed(2)}`,
      `≥ 0.9: ${met(f.scaleRatio >= 0.9)}`,
    ],
    [
      '6',
      'lifecycle with a webhook hearing every event',
      `${f.webhookOrdersPerSecond.toFixed(2)} orders/s: ratio ${f.webhookRatio.toFixed(2)} to section 1`,
      `≥ 0.9: ${met(f.webhookRatio >= 0.9)}`,
    ],
    [
      '6',
      'deliveries',
      `${f.eventsDelivered} events, ${f.deliveriesPerSecond.toFixed(0)} /s, lag p50 ${f.deliveryLagP50.toFixed(0)} ms, p95 ${f.deliveryLagP95.toFixed(0)} ms`,
      '',
    ],
    [
      '6',
      'one transition’s statement, without and with its events',
      `${f.statementMsWithout.toFixed(2)} ms vs ${f.statementMsWith.toFixed(2)} ms: +${(f.statementMsWith - f.statementMsWithout).toFixed(2)} ms`,
      '',
    ],
    ...(sizes.seed > 0
      ? [
          ['7', `${sizes.seed} orders seeded straight to PostgreSQL`, `${f.seedSeconds.toFixed(0)} s`, ''],
          ...f.centerQueries.map((q) => [
            '7',
            q.name,
            `p50 ${q.p50.toFixed(1)} ms, p95 ${q.p95.toFixed(1)} ms`,
            `p95 ≤ 50 ms: ${met(q.p95 <= 50)}`,
          ]),
          [
            '7',
            `export of ${f.exportRows} orders`,
            `${f.exportRowsPerSecond.toFixed(0)} rows/s; API RSS ${f.exportBaseRssMb.toFixed(0)} MB before it, peak ${f.exportPeakRssMb.toFixed(0)} MB: the export's own ${(f.exportPeakRssMb - f.exportBaseRssMb).toFixed(0)} MB`,
            `≥ 50,000 rows/s: ${met(f.exportRowsPerSecond >= 50_000)}; ≤ 150 MB: ${met(f.exportPeakRssMb - f.exportBaseRssMb <= 150)}`,
          ],
        ]
      : []),
    [
      '8',
      `lifecycle, paid by bank transfer (settled after ${RICH_PATH_STEP}) and shipped by the warehouse (${RICH_PATH_STEP} a step)`,
      `${f.rich.perSecond.toFixed(2)} orders/s, ${f.rich.eventsPerOrder.toFixed(0)} events, ${f.rich.tasksPerOrder.toFixed(1)} workflow tasks, ${f.rich.activitiesPerOrder.toFixed(1)} activities, ${f.rich.localActivitiesPerOrder.toFixed(1)} local activities per order`,
      '(no target yet)',
    ],
    ['8', 'CPU per order, by process', cpuLine(f.rich.cpuMsPerOrder), ''],
  ];
  const table = [
    '| # | figure | measured | target |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  console.log(`\n${table}\n`);
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${mb(os.totalmem())} MB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const minutes = ((performance.now() - benchStarted) / 60_000).toFixed(1);
  console.log(`the run took ${minutes} min`);
  const doc = `# Benchmarks

\`npm run bench\` (sizes: ${sizes.orders} lifecycle orders at concurrency ${sizes.concurrency}, ${sizes.rate} req/s for ${sizes.seconds} s, ${sizes.open} open orders), run on ${new Date().toISOString().slice(0, 10)}; the whole run took ${minutes} minutes.

Machine: ${machine}. The stack is the one \`npm start\` runs (embedded PostgreSQL, the Temporal CLI's dev server on SQLite, one worker, one API), except that the dev server keeps its SQLite in memory, so the absolute figures are those of a 2-core development machine; the ratios compare the service with Temporal's own ceiling measured in the same run.

${table}

How each is measured (bench/run.ts): 1. N orders through create → pay → production → ship → confirm → complete over HTTP at concurrency C, against a one-activity no-op workflow on the same server, each after a warm-up of 2C orders or workflows that is not counted; 2. open-model arrivals at a fixed rate (latency measured whatever the backlog), against \`client.workflow.start\` and against the floor of an answer from a workflow: \`executeUpdateWithStart\` of an Update whose handler only returns, on a worker in a process of its own like the order worker (bench/noop-worker.ts, which serves the no-op ceiling of section 1 too; no eager start: the API does not run a worker); 3. order placements on one SKU, then spread over 20, with stock for half of them (oversold counts acceptances beyond stock); 4. the worker's RSS growth per workflow added to its cache (the worker's \`temporal_sticky_cache_size\`) over the first 1,500 open orders, while the cache has room, then the worker's and the dev servers' RSS with all the orders open; 5. the lifecycle again with those orders open; 6. (run right after 1) the lifecycle again with a webhook subscriber on loopback hearing every event, the lag from each event to its delivery and the deliveries per second, and one transition's statement (history row, snapshot, events, deliveries) timed 500 times with and without its events; 7. ${sizes.seed} orders written straight to PostgreSQL by \`npm run seed\`'s generator (12 months, 3 channels, 10,000 customers, 5,000 SKUs, 1 to 3 lines), then each list filter and sort, stats and a full CSV export through the API as a merchant: ${sizes.queryRuns} calls each, one at a time; the export's rows per second and the API process's peak RSS while it streams, less its RSS just before (what the API holds from earlier requests is not the export's: the export runs in a thread of its own with a capped heap); 8. the lifecycle of section 1 on the richer path, through a second API whose orders are fulfilled by the sandbox warehouse (FULFILMENT=warehouse, same worker): paid by a bank transfer the sandbox provider settles ${RICH_PATH_STEP} later by webhook (\`tok_async_ok\`), shipped by the warehouse (${RICH_PATH_STEP} a step), confirmed by the customer; its events, tasks and activities include its fulfilment workflows. Bench settings: rate limits off, PostgreSQL with fsync on, the dev server's SQLite in memory (\`npm start\` keeps it in a file), payment timeout 2 h, auto-confirm 1 h, after-sales window 1 s.
`;
  // The topology comparison (--cluster) and the tuning log below the figures are kept from run to run.
  const previous = await readFile(BENCHMARKS, 'utf8').catch(() => '');
  const kept = Math.min(
    ...[CLUSTER_HEADING, TUNING_HEADING].map((h) => previous.indexOf(h)).filter((i) => i >= 0),
  );
  await writeDoc(BENCHMARKS, Number.isFinite(kept) ? `${doc}\n${previous.slice(kept)}` : doc);
  console.log('wrote docs/BENCHMARKS.md');
}

/**
 * `npm run bench -- --cluster`: sections 1 and 2 on the dev server, then on the production
 * topology (devstack/cluster.ts), one after the other in one run; written to BENCHMARKS.md's
 * section on that topology, the rest of the file kept.
 */
async function compareTopologies(benchStarted: number) {
  const dev = await measure('dev', false);
  const cluster = await measure('cluster', false);
  const figure = (name: string, of: (f: Figures) => string) => `| ${name} | ${of(dev)} | ${of(cluster)} |`;
  const table = [
    '| figure | dev server (CLI, SQLite, 1 shard) | cluster (4 services, PostgreSQL, 4 shards) |',
    '| --- | --- | --- |',
    figure('lifecycle orders/s', (f) => f.lifecycleOrdersPerSecond.toFixed(2)),
    figure('events/order', (f) => f.eventsPerOrder.toFixed(0)),
    figure('workflow tasks / activities / local activities per order', (f) =>
      [f.tasksPerOrder, f.activitiesPerOrder, f.localActivitiesPerOrder].map((n) => n.toFixed(1)).join(' / '),
    ),
    figure('no-op workflows/s (the ceiling)', (f) => f.noopWorkflowsPerSecond.toFixed(1)),
    figure('lifecycle orders/s ÷ no-op workflows/s', (f) =>
      (f.lifecycleOrdersPerSecond / f.noopWorkflowsPerSecond).toFixed(3),
    ),
    figure('events/s ratio to the ceiling', (f) => f.ceilingRatio.toFixed(2)),
    figure(
      `POST /v1/orders at ${sizes.rate}/s, p50 / p99`,
      (f) => `${f.apiP50.toFixed(0)} / ${f.apiP99.toFixed(0)} ms`,
    ),
    figure('bare workflow start, p50 / p99', (f) => `${f.startP50.toFixed(0)} / ${f.startP99.toFixed(0)} ms`),
    figure(
      'no-op update-with-start, p50 / p99',
      (f) => `${f.updateStartP50.toFixed(0)} / ${f.updateStartP99.toFixed(0)} ms`,
    ),
    figure('p99 ratio, POST /v1/orders to the no-op update-with-start', (f) => f.latencyRatio.toFixed(2)),
  ].join('\n');
  console.log(`\n${table}\n`);
  const minutes = ((performance.now() - benchStarted) / 60_000).toFixed(1);
  const section = `${CLUSTER_HEADING}

\`npm run bench -- --cluster\` (${sizes.orders} lifecycle orders at concurrency ${sizes.concurrency}, ${sizes.rate} req/s for ${sizes.seconds} s), run on ${new Date().toISOString().slice(0, 10)} in ${minutes} minutes: sections 1 and 2 above, on the dev server and then on the Temporal server itself as \`npm run cluster\` runs it (README, "Production topology"), one after the other on the same machine. Both use the same embedded PostgreSQL settings (fsync on); on the cluster, that PostgreSQL also holds Temporal's persistence and visibility, and the four server processes share the two cores with everything else, so the cluster's figures are what one machine gives, not what separate machines would.

${table}
`;
  const previous = await readFile(BENCHMARKS, 'utf8').catch(() => '# Benchmarks\n');
  const start = previous.indexOf(CLUSTER_HEADING);
  const tuning = previous.indexOf(TUNING_HEADING);
  const before = start >= 0 ? previous.slice(0, start) : tuning >= 0 ? previous.slice(0, tuning) : previous;
  const after = tuning >= 0 ? previous.slice(tuning) : '';
  await writeDoc(BENCHMARKS, `${before.trimEnd()}\n\n${section}\n${after}`);
  console.log('wrote docs/BENCHMARKS.md');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
