/**
 * The chaos run (`npm run chaos`): a mixed load through the HTTP API while the worker is killed
 * (SIGKILL) every 15–30 s, the Temporal dev server is restarted once and PostgreSQL once; then
 * the system settles and the invariant checker (audit/invariants.ts) reads every store. Stock is
 * spread over two locations, so orders are allocated to one or both and the books are checked per
 * location; one scenario ships in two parcels. A webhook receiver that fails one POST in ten hears
 * every event; after settling, each order's events must have reached it exactly once after
 * de-duplication, in sequence, although the worker that sends them was killed mid-delivery.
 * Prints its figures, writes docs/RELIABILITY.md with --report, exits non-zero on any violation.
 *   npm run chaos [-- --orders 2000 --concurrency 24 --capture on_shipment --report]
 */
import { isolatedStackEnv, prebuiltWorkflowBundle } from '../devstack/isolated';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureProblem } from '../codec/webhook-signature';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../codec/data-converter';
import { loadConfig } from '../config';
import { HttpPaymentProvider } from '../services/payment/http-provider';
import { createDb } from '../db/knex';
import { ApiClient, type Caller } from '../devstack/api-client';
import type { ClusterService } from '../devstack/cluster';
import { startStack } from '../devstack/stack';
import { isTerminal } from '../domain/machine';
import { machines, type OrderType } from '../domain/machines';
import { checkInvariants, type InvariantReport } from '../audit/invariants';

export interface ChaosOptions {
  orders: number;
  concurrency: number;
  /** Worker kills happen every killEveryMs[0]..killEveryMs[1] while the load runs. */
  killEveryMs: [number, number];
  settleTimeoutMs: number;
  /** `on_shipment`: standard orders' payments are held at pay and captured when they ship. */
  capture?: 'immediate' | 'on_shipment';
  log?: (line: string) => void;
  /** A file for every service's lines (CHAOS_SERVICE_LOG too), to see why a run went as it did. */
  serviceLog?: string;
}

export interface ChaosFigures {
  ordersAttempted: number;
  ordersAccepted: number;
  ordersRefused: number;
  scenarios: Record<string, number>;
  workerKills: number;
  temporalRestarts: number;
  /** On the cluster topology: each Temporal service SIGKILLed and started again, mid-load. */
  temporalServiceKills: Record<string, number>;
  /** Orders placed while the frontend was down: what each answered, and how fast (a 503, never a hang). */
  frontendDownProbes: { status: number; ms: number }[];
  postgresRestarts: number;
  /** The sandbox payment service killed (and brought back by the stack), mid-load. */
  providerRestarts: number;
  retriesThroughOutages: number;
  /** Webhook POSTs the receiver took (duplicates included), refused on purpose, and distinct events. */
  webhook: { received: number; refused: number; distinct: number };
  /** The load's replies of 400 and above, by route, status and the order status or code they name. */
  refusals: Record<string, number>;
  /** Ship steps given up because production had not started within a minute, by the order's status then. */
  shipsSkipped: Record<string, number>;
  /** Orders and returns still moving when the settling time ran out, with the order's scenario. */
  unsettled: string[];
  loadSeconds: number;
  settleSeconds: number;
  report: InvariantReport;
}

const SECRET = 'chaos-secret-for-the-order-service';
const merchant: Caller = { role: 'merchant', id: 'chaos-merchant' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = ([lo, hi]: [number, number]) => lo + Math.random() * (hi - lo);
const tally = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);
const counts = (of: Record<string, number>) =>
  Object.entries(of)
    .sort()
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ') || 'none';

type Step = (ctx: { id: string; who: Caller; sku: string }) => Promise<void>;

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { dataDir, env: isolated } = await isolatedStackEnv('chaos');
  // Built once, so a killed worker is back in a second instead of re-bundling.
  const bundlePath = await prebuiltWorkflowBundle(dataDir);
  const env: NodeJS.ProcessEnv = {
    ...isolated,
    AUTH_JWT_SECRET: SECRET,
    PAYMENT_TIMEOUT: '10s',
    AUTO_CONFIRM_AFTER: '3s',
    AFTER_SALES_WINDOW: '4s',
    VIRTUAL_AFTER_SALES_WINDOW: '2s',
    // The provider's own faults: slow, failing calls, bank transfers that settle later, every
    // webhook sent twice and late (and asked about when it does not come).
    PAYMENT_SANDBOX_LATENCY: '30ms',
    PAYMENT_SANDBOX_ERROR_RATE: '0.05',
    PAYMENT_SANDBOX_ASYNC_DELAY: '1s',
    PAYMENT_SANDBOX_WEBHOOK_DUPLICATES: '1',
    PAYMENT_SANDBOX_WEBHOOK_DELAY: '300ms',
    PAYMENT_PENDING_GRACE: '10s',
    PAYMENT_PENDING_POLL: '3s',
    PAYMENT_CAPTURE: options.capture ?? 'immediate',
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
    LOG_LEVEL: 'warn',
    WORKFLOW_BUNDLE_PATH: bundlePath,
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    // Its own payment provider too, whatever the environment points at (a test stack's).
    PAYMENT_PROVIDER_URL: '',
    PAYMENT_SANDBOX_DATABASE_URL: '',
    PAYMENT_WEBHOOK_SECRET: '',
    // The run's own receiver, on loopback; quick retries so it settles within the run.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_TIMEOUT: '2s',
    WEBHOOK_BACKOFF: '200ms',
    WEBHOOK_BACKOFF_MAX: '2s',
    // An action a killed worker's task lost is sent again soon (worker/unsettled-actions.ts).
    UNSETTLED_ACTION_AFTER: '5s',
  };
  const config = loadConfig({ ...process.env, ...env });
  const serviceLogPath = options.serviceLog ?? process.env.CHAOS_SERVICE_LOG;
  if (serviceLogPath) await mkdir(path.dirname(serviceLogPath), { recursive: true });
  const serviceLog = serviceLogPath ? createWriteStream(serviceLogPath) : null;
  const stack = await startStack({
    config,
    env,
    persistTemporal: true,
    headless: true,
    supervise: true,
    log: serviceLog
      ? (source, line) => void serviceLog.write(`${Date.now()} [${source}] ${line}\n`)
      : () => undefined,
  });
  const api = new ApiClient(stack.apiUrl, SECRET);

  // The receiver: every tenth POST refused (a 500), every signature checked, every event kept.
  const hookSecret = `whsec_${randomUUID()}`;
  const heard = new Map<string, { id: string; sequence: number; verified: boolean }[]>();
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (Math.random() < 0.1) {
        figures.webhook.refused++;
        return void res.writeHead(500).end();
      }
      const raw = Buffer.concat(chunks);
      const event = JSON.parse(raw.toString()) as { id: string; orderId: string; sequence: number };
      figures.webhook.received++;
      const verified =
        signatureProblem(hookSecret, req.headers['webhook-signature'] as string, raw, {
          now: Date.now(),
          toleranceMs: 300_000,
        }) === null && req.headers['webhook-id'] === event.id;
      heard.set(event.orderId, [
        ...(heard.get(event.orderId) ?? []),
        { id: event.id, sequence: event.sequence, verified },
      ]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
  const figures: Omit<ChaosFigures, 'report' | 'settleSeconds'> = {
    ordersAttempted: 0,
    ordersAccepted: 0,
    ordersRefused: 0,
    scenarios: {},
    workerKills: 0,
    temporalRestarts: 0,
    temporalServiceKills: {},
    frontendDownProbes: [],
    postgresRestarts: 0,
    providerRestarts: 0,
    retriesThroughOutages: 0,
    webhook: { received: 0, refused: 0, distinct: 0 },
    refusals: {},
    shipsSkipped: {},
    unsettled: [],
    loadSeconds: 0,
  };
  let retries = 0;
  const call = async (method: string, p: string, as: Caller, body?: unknown, key?: string) => {
    const reply = await api.callThroughOutages(method, p, as, body, key ? { 'idempotency-key': key } : {});
    retries += reply.retries;
    if (reply.status >= 400) {
      // What the refusal names (a 409's order status, a 402's decline code) tells why it happened.
      const why = reply.body?.orderStatus ?? reply.body?.code;
      const route = `${method} ${p.replace(/\/(ord|ret|clm|exc|edt)_[0-9a-f]+/g, '/:id')} ${reply.status}${why ? ` (${why})` : ''}`;
      tally(figures.refusals, route);
    }
    return reply;
  };
  const until = async (id: string, who: Caller, statuses: string[], withinMs = 120_000) => {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      const reply = await call('GET', `/v1/orders/${id}`, who);
      if (reply.status === 200 && statuses.includes(reply.body.order.status)) return reply.body.order;
      // Ended elsewhere (cancelled, timed out): it will never get there; stop waiting for it.
      if (
        reply.status === 200 &&
        isTerminal(machines[reply.body.order.type as OrderType], reply.body.order.status)
      )
        return null;
      await sleep(300);
    }
    return null;
  };

  const accepted: string[] = [];
  const scenarioOf = new Map<string, string>();
  const coupon = `CHAOS-${randomUUID().slice(0, 6)}`;
  const skus = Array.from({ length: 6 }, (_, i) => `chaos-${i}-${randomUUID().slice(0, 6)}`);

  const pay =
    (token: string): Step =>
    async ({ id, who }) =>
      void (await call('POST', `/v1/orders/${id}/pay`, who, { paymentToken: token }, `pay-${token}-${id}`));
  const ship: Step = async ({ id, who }) => {
    if (await until(id, who, ['IN_PRODUCTION'], 60_000)) {
      await call(
        'POST',
        `/v1/orders/${id}/ship`,
        merchant,
        { carrier: 'x', trackingNumber: 'y' },
        `ship-${id}`,
      );
      return;
    }
    const seen = await call('GET', `/v1/orders/${id}`, who);
    const status = seen.status === 200 ? (seen.body.order.status as string) : `HTTP ${seen.status}`;
    tally(figures.shipsSkipped, status);
  };
  // By hand in two parcels: one unit, then the rest (PARTIALLY_SHIPPED between).
  const shipInParcels: Step = async ({ id, who, sku }) => {
    if (!(await until(id, who, ['IN_PRODUCTION'], 60_000)))
      return void tally(figures.shipsSkipped, 'parcels');
    await call(
      'POST',
      `/v1/orders/${id}/ship`,
      merchant,
      { carrier: 'x', trackingNumber: 'p1', items: [{ sku, quantity: 1 }] },
      `ship1-${id}`,
    );
    await call(
      'POST',
      `/v1/orders/${id}/ship`,
      merchant,
      { carrier: 'x', trackingNumber: 'p2' },
      `ship2-${id}`,
    );
  };
  // 3-D Secure: the customer's browser finishes the step on the provider's page (through its outages).
  const payWith3ds: Step = async ({ id, who }) => {
    const reply = await call(
      'POST',
      `/v1/orders/${id}/pay`,
      who,
      { paymentToken: 'tok_3ds' },
      `pay-3ds-${id}`,
    );
    const url = reply.body?.payment?.nextAction?.redirectUrl as string | undefined;
    if (reply.status !== 202 || !url) return;
    for (let attempt = 0; attempt < 30; attempt++) {
      const done = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) }).catch(
        () => null,
      );
      if (done?.ok) return;
      await sleep(1000);
    }
  };
  const confirm: Step = async ({ id, who }) =>
    void (await call('POST', `/v1/orders/${id}/confirm`, who, {}, `confirm-${id}`));
  const cancel: Step = async ({ id, who }) =>
    void (await call('POST', `/v1/orders/${id}/cancel`, who, { reason: 'chaos' }, `cancel-${id}`));
  const refundOne: Step = async ({ id, sku }) =>
    void (await call(
      'POST',
      `/v1/orders/${id}/refunds`,
      merchant,
      { items: [{ sku, quantity: 1 }], reason: 'chaos' },
      `r-${id}`,
    ));
  const returnOne: Step = async ({ id, who, sku }) => {
    const r = await call(
      'POST',
      `/v1/orders/${id}/returns`,
      who,
      { items: [{ sku, quantity: 1 }], reason: 'chaos' },
      `ret-${id}`,
    );
    if (r.status !== 201) return;
    await call('POST', `/v1/returns/${r.body.return.id}/approve`, merchant, {}, `approve-${id}`);
    await call('POST', `/v1/returns/${r.body.return.id}/receive`, merchant, {}, `receive-${id}`);
  };
  // A damaged unit claimed and refunded; a unit exchanged for another product, its difference paid.
  const claimOne: Step = async ({ id, who, sku }) => {
    const c = await call(
      'POST',
      `/v1/orders/${id}/claims`,
      who,
      { items: [{ sku, quantity: 1 }], kind: 'damaged', resolution: 'refund', reason: 'chaos' },
      `clm-${id}`,
    );
    if (c.status === 201)
      await call('POST', `/v1/claims/${c.body.claim.id}/approve`, merchant, {}, `approve-${id}`);
  };
  const exchangeOne: Step = async ({ id, who, sku }) => {
    const other = skus[(skus.indexOf(sku) + 1) % skus.length]!;
    const e = await call(
      'POST',
      `/v1/orders/${id}/exchanges`,
      who,
      { returnItems: [{ sku, quantity: 1 }], newItems: [{ sku: other, quantity: 1 }], reason: 'chaos' },
      `exc-${id}`,
    );
    if (e.status !== 201) return;
    const ex = e.body.exchange.id as string;
    if (e.body.exchange.difference > 0)
      await call('POST', `/v1/exchanges/${ex}/pay`, who, { paymentToken: 'tok_ok' }, `xpay-${id}`);
    await call('POST', `/v1/exchanges/${ex}/approve`, merchant, {}, `xapprove-${id}`);
    await call('POST', `/v1/exchanges/${ex}/receive`, merchant, {}, `xreceive-${id}`);
    await call(
      'POST',
      `/v1/exchanges/${ex}/ship`,
      merchant,
      { carrier: 'x', trackingNumber: 'x1' },
      `xship-${id}`,
    );
  };
  // A unit of another product added once paid: previewed, then confirmed with what it costs.
  const editOne: Step = async ({ id, who, sku }) => {
    const other = skus[(skus.indexOf(sku) + 2) % skus.length]!;
    const e = await call(
      'POST',
      `/v1/orders/${id}/edits`,
      who,
      { add: [{ sku: other, quantity: 1 }] },
      `edt-${id}`,
    );
    if (e.status !== 201) return;
    await call(
      'POST',
      `/v1/order-edits/${e.body.edit.id}/confirm`,
      who,
      { paymentToken: 'tok_ok' },
      `edtc-${id}`,
    );
  };
  const SCENARIOS: Record<string, Step[]> = {
    completed: [pay('tok_ok'), ship, confirm],
    cancelled_unpaid: [cancel],
    cancelled_paid: [pay('tok_ok'), cancel],
    partially_refunded: [pay('tok_ok'), ship, refundOne],
    returned: [pay('tok_ok'), ship, returnOne],
    claimed: [pay('tok_ok'), ship, claimOne],
    exchanged: [pay('tok_ok'), ship, exchangeOne],
    edited: [pay('tok_ok'), editOne, ship],
    timed_out: [],
    declined_then_paid: [pay('tok_declined'), pay('tok_ok'), ship],
    flaky_payment: [pay('tok_flaky'), ship, confirm],
    reply_lost: [pay('tok_lost'), ship, confirm],
    bank_transfer: [pay('tok_async_ok'), ship, confirm],
    three_ds: [payWith3ds, ship],
    paid_after_cancel: [pay('tok_async_ok'), cancel],
    shipped_in_parcels: [pay('tok_ok'), shipInParcels, confirm],
    // Imported from another order system, paid there: refunds owed by the channel, not the provider's.
    imported_returned: [ship, returnOne],
    imported_cancelled: [cancel],
  };
  const names = Object.keys(SCENARIOS);

  try {
    // Stock at two locations, half each: orders are allocated to one or both, and the books are
    // checked per location.
    const east = `chaos-east-${randomUUID().slice(0, 6)}`;
    await call('PUT', `/v1/locations/${east}`, merchant, { name: 'Chaos east', priority: 1 });
    for (const [i, sku] of skus.entries()) {
      await call('PUT', `/v1/products/${sku}`, merchant, {
        name: sku,
        price: 1000 + i * 250,
        currency: 'USD',
        kind: 'physical',
        stock: Math.ceil(options.orders / 4),
        inventoryStrategy: i % 2 ? 'on_payment' : 'on_order',
      });
      await call('PUT', `/v1/products/${sku}/stock/${east}`, merchant, {
        onHand: Math.ceil(options.orders / 4),
      });
    }
    await call('PUT', `/v1/promotions/${coupon}`, merchant, {
      kind: 'fixed',
      value: 100,
      maxUses: Math.ceil(options.orders / 10),
      perCustomerLimit: 1,
    });

    const subscribed = await api.call('PUT', '/v1/webhooks/chaos', merchant, {
      url: hookUrl,
      events: ['*'],
      secret: hookSecret,
    });
    if (subscribed.status !== 201) throw new Error(`could not subscribe the receiver: ${subscribed.status}`);
    const started = Date.now();
    let next = 0;
    let loadDone = false;
    const runOne = async (n: number) => {
      const scenario = names[n % names.length]!;
      const who: Caller = { role: 'customer', id: `chaos-c${n}` };
      const sku = skus[n % skus.length]!;
      figures.ordersAttempted++;
      const body = { items: [{ sku, quantity: 2 }], ...(n % 7 === 0 ? { couponCode: coupon } : {}) };
      const created = scenario.startsWith('imported')
        ? await call('POST', '/v1/orders/import', merchant, {
            channel: 'web',
            externalId: `chaos-${n}`,
            customerId: who.id,
            items: [{ sku, quantity: 2, unitPrice: 1100 }],
            amounts: { discount: 150, shipping: 500, total: 2550 },
            placedAt: new Date().toISOString(),
          })
        : await call('POST', '/v1/orders', who, body, `o-${n}`);
      // An import sent again through an outage is answered 200 with the order it made.
      if (created.status !== 201 && !(created.status === 200 && created.body.order)) {
        figures.ordersRefused++;
        return;
      }
      const id = created.body.order.id as string;
      accepted.push(id);
      scenarioOf.set(id, scenario);
      figures.ordersAccepted++;
      figures.scenarios[scenario] = (figures.scenarios[scenario] ?? 0) + 1;
      for (const step of SCENARIOS[scenario]!) await step({ id, who, sku });
    };
    const lanes = Array.from({ length: options.concurrency }, async () => {
      while (next < options.orders)
        await runOne(next++).catch((err) => log(`scenario error: ${String(err)}`));
    });

    // Placed while the frontend is down: answered at once (a 503 the client retries), never held.
    const probeWhileDown = async () => {
      const begun = Date.now();
      const reply = await api.call(
        'POST',
        '/v1/orders',
        { role: 'customer', id: 'chaos-probe' },
        { items: [{ sku: skus[0]!, quantity: 1 }] },
        {},
      );
      figures.frontendDownProbes.push({ status: reply.status, ms: Date.now() - begun });
      if (reply.status === 201) {
        accepted.push(reply.body.order.id);
        scenarioOf.set(reply.body.order.id, 'timed_out');
      }
    };
    // The faults, while the load runs: worker kills throughout, one restart of each server (on the
    // cluster topology, one kill of each Temporal service instead of the dev server's restart).
    const cluster = stack.temporalCluster !== null;
    const temporalFaults: [number, () => Promise<void>][] = cluster
      ? [
          [0.3, () => killService('history', 2000)],
          [0.4, () => killService('matching', 2000)],
          [0.55, () => killService('frontend', 6000, probeWhileDown)],
        ]
      : [
          [
            0.35,
            async () => {
              log('chaos: restarting the Temporal dev server');
              await stack.restartTemporal();
              figures.temporalRestarts++;
            },
          ],
        ];
    const killService = async (service: ClusterService, downMs: number, whileDown?: () => Promise<void>) => {
      log(`chaos: killing Temporal ${service}`);
      const back = stack.killTemporalService(service, downMs);
      back.catch(() => undefined); // awaited below; a failing probe must not leave it unhandled
      try {
        await sleep(1000);
        await whileDown?.();
      } finally {
        await back;
      }
      tally(figures.temporalServiceKills, service);
    };
    const faults = (async () => {
      let postgresDone = false;
      let providerDone = false;
      while (!loadDone) {
        await sleep(between(options.killEveryMs));
        if (loadDone) break;
        const worker = stack.children.get('worker');
        if (worker?.pid) {
          worker.kill('SIGKILL');
          figures.workerKills++;
          log(`chaos: killed the worker (${figures.workerKills})`);
        }
        const progress = next / options.orders;
        const temporalFault = temporalFaults[0];
        if (temporalFault && progress > temporalFault[0]) {
          temporalFaults.shift();
          await temporalFault[1]();
        } else if (!providerDone && progress > 0.5) {
          providerDone = true;
          // Killed mid-request: the stack starts it again; replies lost, webhooks sent late.
          const provider = stack.children.get('payments');
          if (provider?.pid) {
            log('chaos: killing the payment provider');
            provider.kill('SIGKILL');
            figures.providerRestarts++;
          }
        } else if (!postgresDone && progress > 0.65) {
          postgresDone = true;
          log('chaos: restarting PostgreSQL');
          await stack.restartPostgres();
          figures.postgresRestarts++;
        }
      }
      // A fault the load outran still happens (a short run on a fast machine).
      for (const [, fault] of temporalFaults) await fault();
    })();
    await Promise.all(lanes);
    loadDone = true;
    await faults;
    figures.loadSeconds = (Date.now() - started) / 1000;
    figures.retriesThroughOutages = retries;
    log(`chaos: load done in ${figures.loadSeconds.toFixed(0)}s; settling`);

    // Settle: every accepted order reaches a terminal state (the timers are short), bounded.
    const db = createDb(stack.databaseUrl, { pool: { min: 0, max: 3 } });
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const settleStart = Date.now();
      let unsettled: string[] = [];
      while (Date.now() - settleStart < options.settleTimeoutMs) {
        const rows: { id: string; type: OrderType; status: string; pending: boolean; unsure: boolean }[] =
          await db('orders').whereIn('id', accepted).select(
            'id',
            'type',
            'status',
            db.raw(
              `COALESCE(details->'payments' @> '[{"status":"processing"}]' OR details->'payments' @> '[{"status":"requires_action"}]', false) AS pending`,
            ),
            // An action no one heard answered, not yet sent again: PostgreSQL may be ahead of its workflow.
            db.raw('EXISTS (SELECT 1 FROM unsettled_actions u WHERE u.order_id = orders.id) AS unsure'),
          );
        // Settled: finished, or waiting for a person (a state with no timer and nothing automatic,
        // e.g. IN_PRODUCTION), and no payment still pending at the provider.
        const moving = (r: { type: OrderType; status: string; pending: boolean; unsure: boolean }) => {
          const state = machines[r.type].states[r.status];
          return (
            r.pending ||
            r.unsure ||
            (!isTerminal(machines[r.type], r.status) &&
              (state?.after !== undefined || state?.auto !== undefined))
          );
        };
        const openReturns: { id: string; order_id: string; status: string }[] = await db('returns')
          .whereNotIn('status', ['REFUNDED', 'REJECTED'])
          .select('id', 'order_id', 'status');
        unsettled = [
          ...rows.filter(moving).map((r) => `${r.id} (${scenarioOf.get(r.id)}) ${r.status}`),
          ...openReturns.map((r) => `${r.id} of ${r.order_id} (${scenarioOf.get(r.order_id)}) ${r.status}`),
        ];
        if (unsettled.length === 0 && rows.length === accepted.length) break;
        await sleep(1000);
      }
      // Then every delivery to the receiver, bounded too.
      const deliveriesStart = Date.now();
      while (Date.now() - deliveriesStart < 120_000) {
        const pending = await db('webhook_deliveries')
          .where({ webhook_id: 'chaos', status: 'pending' })
          .whereIn('order_id', accepted)
          .first('event_id');
        if (!pending) break;
        await sleep(1000);
      }
      const settleSeconds = (Date.now() - settleStart) / 1000;
      figures.unsettled = unsettled;
      const temporal = new Client({ connection, dataConverter: dataConverterFor(config) });
      const report = await checkInvariants(db, temporal, new HttpPaymentProvider(stack.paymentProviderUrl), {
        orderIds: accepted,
        skus,
        coupons: [coupon],
      });
      // A workflow that did not answer: its history beside the service log, to replay (its task
      // failing for good is an SDK or server fault to report, or a determinism break of ours).
      if (serviceLogPath)
        for (const v of report.violations.filter((x) => x.rule === 'every order has its workflow')) {
          const history = await temporal.workflow
            .getHandle(v.subject)
            .fetchHistory()
            .catch(() => null);
          if (history)
            await writeFile(
              path.join(path.dirname(serviceLogPath), `${v.subject}.history.json`),
              historyToJSON(history),
            );
        }
      // What the receiver heard: each order's events, once each after de-duplication, in sequence, signed.
      const outbox: { id: string; order_id: string }[] = await db('order_events')
        .whereIn('order_id', accepted)
        .orderBy(['order_id', 'seq'])
        .select('id', 'order_id');
      const expected = new Map<string, string[]>();
      for (const e of outbox) expected.set(e.order_id, [...(expected.get(e.order_id) ?? []), e.id]);
      for (const id of accepted) {
        const got = heard.get(id) ?? [];
        const firsts = got.filter((g, i) => got.findIndex((h) => h.id === g.id) === i).map((g) => g.id);
        figures.webhook.distinct += firsts.length;
        const want = expected.get(id) ?? [];
        if (firsts.join() !== want.join())
          report.violations.push({
            rule: 'every event reaches the receiver once, in sequence',
            subject: id,
            detail: `heard ${firsts.length} of ${want.length} events${firsts.every((f, i) => f === want[i]) ? '' : ', out of order'}`,
          });
        const sequences = got.map((g) => g.sequence);
        if (sequences.some((n, i) => i > 0 && n < sequences[i - 1]!))
          report.violations.push({
            rule: 'no event overtakes an earlier one',
            subject: id,
            detail: sequences.join(','),
          });
        if (got.some((g) => !g.verified))
          report.violations.push({
            rule: 'every delivery is signed',
            subject: id,
            detail: 'a signature did not verify',
          });
      }
      return { ...figures, settleSeconds, report };
    } finally {
      await connection.close();
      await db.destroy();
    }
  } finally {
    await stack.stop();
    await new Promise<void>((r) => receiver.close(() => r()));
    await rm(dataDir, { recursive: true, force: true });
    await new Promise<void>((r) => (serviceLog ? serviceLog.end(r) : r()));
  }
}

export function describeFigures(f: ChaosFigures): string {
  const lines = [
    `orders attempted ${f.ordersAttempted}, accepted ${f.ordersAccepted}, refused at creation ${f.ordersRefused}`,
    `scenarios: ${Object.entries(f.scenarios)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `faults: worker kills ${f.workerKills}, Temporal restarts ${f.temporalRestarts}, Temporal services killed: ${counts(f.temporalServiceKills)}, PostgreSQL restarts ${f.postgresRestarts}, payment provider restarts ${f.providerRestarts}; calls retried through outages ${f.retriesThroughOutages}`,
    ...(f.frontendDownProbes.length
      ? [
          `orders placed while the frontend was down: ${f.frontendDownProbes.map((p) => `HTTP ${p.status} in ${p.ms} ms`).join(', ')}`,
        ]
      : []),
    `webhook: ${f.webhook.distinct} events heard, ${f.webhook.received} POSTs taken (duplicates included), ${f.webhook.refused} refused on purpose`,
    `refusals (4xx/5xx replies to the load): ${counts(f.refusals)}; ship steps skipped (no production within 60 s), by the order's status then: ${counts(f.shipsSkipped)}`,
    `load ${f.loadSeconds.toFixed(0)}s, settled in ${f.settleSeconds.toFixed(0)}s`,
    ...f.unsettled.slice(0, 20).map((u) => `  still moving: ${u}`),
    `final statuses: ${Object.entries(f.report.byStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `checked ${f.report.orders} orders, ${f.report.products} products, ${f.report.coupons} coupons: ${f.report.violations.length} violations`,
    ...f.report.violations.slice(0, 50).map((v) => `  VIOLATION ${v.rule}: ${v.subject}: ${v.detail}`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  // On the production topology (README, "Production topology") instead of the dev server.
  if (process.argv.includes('--cluster')) process.env.TEMPORAL_TOPOLOGY = 'cluster';
  const options: ChaosOptions = {
    orders: arg('orders', 2000),
    concurrency: arg('concurrency', 24),
    killEveryMs: [15_000, 30_000],
    settleTimeoutMs: 300_000,
    capture: process.argv.includes('on_shipment') ? 'on_shipment' : 'immediate',
  };
  const command = `npm run chaos -- --orders ${options.orders} --concurrency ${options.concurrency}${
    options.capture === 'on_shipment' ? ' --capture on_shipment' : ''
  }${process.argv.includes('--cluster') ? ' --cluster' : ''} --report`;
  runChaos(options)
    .then(async (figures) => {
      const text = describeFigures(figures);
      console.log(`\n${text}`);
      if (process.argv.includes('--report')) {
        // Each run is appended, so the file keeps the record of earlier runs and what they found.
        const file = path.resolve(__dirname, '..', 'docs', 'RELIABILITY.md');
        const previous = (await readFile(file, 'utf8').catch(() => '# Reliability\n')).trimEnd();
        const run = (previous.match(/^## Run \d+/gm) ?? []).length + 1;
        const verdict = figures.report.violations.length === 0 ? 'no violations' : 'violations';
        const section = `## Run ${run}, ${new Date().toISOString().slice(0, 10)}: ${verdict}\n\n\`${command}\`, on this project's 2-core machine:\n\n\`\`\`\n${text}\n\`\`\`\n`;
        // Loaded here only: Prettier is ESM inside, which jest (test/chaos imports this file) cannot load.
        const { writeDoc } = await import('./write-doc');
        await writeDoc(file, `${previous}\n\n${section}`);
      }
      process.exit(figures.report.violations.length === 0 ? 0 : 1);
    })
    .catch((err) => {
      console.error(err);
      process.exit(2);
    });
}
