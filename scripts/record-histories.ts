/**
 * Records the histories of every workflow type, forward and reverse flows and timeouts, into
 * test/histories/, for the replay test (test/workflows/replay.test.ts): run it again whenever a
 * workflow changes on purpose (behind `patched()`), and keep the old files: orders already in
 * flight were written by the old code. Starts its own stack on free ports with short timers.
 *   node --import tsx scripts/record-histories.ts [--tag <name>] [--only <scenario>,...]
 */
import { isolatedStackEnv } from '../devstack/isolated';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { loadConfig } from '../config';
import { startStack } from '../devstack/stack';
import { findTemporalCli } from '../devstack/temporal';
import {
  call,
  customer,
  merchant,
  putProduct,
  support,
  uniqueSku,
  waitForOrder,
  type As,
} from '../devstack/api-calls';
import { TEST_SECRET } from '../devstack/test-tokens';
import {
  createOrderUpdate,
  orderActionUpdate,
  ORDER_WORKFLOW_TYPE,
  payUnansweredSignal,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../workflows/messages';
import type { LineQuantity } from '../domain/order';
import { chargeKey } from '../activities/payment';
import { HttpPaymentProvider } from '../services/payment/http-provider';

const OUT = path.resolve(__dirname, '..', 'test', 'histories');
const tag = process.argv.includes('--tag')
  ? process.argv[process.argv.indexOf('--tag') + 1]
  : new Date().toISOString().slice(0, 10);

/** Only these scenarios (a change that adds one need not record every other again). */
const only = process.argv.includes('--only')
  ? new Set(process.argv[process.argv.indexOf('--only') + 1]!.split(','))
  : null;

type Scenario = (ctx: { created: (id: string) => void; client: Client }) => Promise<void>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newOrder(as: As, items: LineQuantity[], type = 'standard') {
  const reply = await call('POST', '/v1/orders', { as, body: { type, items } });
  if (reply.status !== 201) throw new Error(`create: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.order.id as string;
}

/** A product of its own, a customer and their order of it, recorded as one of the scenario's orders. */
async function oneOrder(
  created: (id: string) => void,
  product: Parameters<typeof putProduct>[1],
  quantity: number,
  type = 'standard',
) {
  const sku = uniqueSku('h');
  await putProduct(sku, product);
  const c = customer();
  const id = await newOrder(c, [{ sku, quantity }], type);
  created(id);
  return { sku, c, id };
}

const pay = (id: string, as: As, paymentToken = 'tok_ok') =>
  call('POST', `/v1/orders/${id}/pay`, { as, body: { paymentToken } });
const ship = (id: string) =>
  call('POST', `/v1/orders/${id}/ship`, { as: merchant, body: { carrier: 'UPS', trackingNumber: '1Z' } });
/** One unit of `sku` shipped by hand: the order partly shipped. */
const shipOneByHand = (id: string, sku: string) =>
  call('POST', `/v1/orders/${id}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: '1Z1', items: [{ sku, quantity: 1 }] },
  });
const until = (id: string, as: As, status: string) =>
  waitForOrder(id, as, (o) => o.status === status, 30_000);

/** A confirmed order of one unit, and an approved exchange of it for a dearer product (400 to pay). */
async function approvedDearerExchange(created: (id: string) => void) {
  const o = await oneOrder(created, { stock: 10, price: 1000 }, 1);
  const dearer = uniqueSku('hx');
  await putProduct(dearer, { stock: 10, price: 1400 });
  await pay(o.id, o.c);
  await until(o.id, o.c, 'IN_PRODUCTION');
  await ship(o.id);
  await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.c, body: {} });
  const id = (
    await call('POST', `/v1/orders/${o.id}/exchanges`, {
      as: o.c,
      body: {
        returnItems: [{ sku: o.sku, quantity: 1 }],
        newItems: [{ sku: dearer, quantity: 1 }],
        reason: 'h',
      },
    })
  ).body.exchange.id as string;
  await call('POST', `/v1/exchanges/${id}/approve`, { as: merchant, body: {} });
  return { o, id };
}

/**
 * An order whose payment is held and captured at shipment (the policy PAYMENT_CAPTURE=on_shipment
 * gives it), started directly so the rest of the recording keeps capturing at once; then paid.
 */
async function heldOrder(
  created: (id: string) => void,
  client: Client,
  paymentToken: string,
  quantity = 1,
  policy: Partial<OrderWorkflowInput['policy']> = {
    capture: 'on_shipment',
    reauthorizeBeforeMs: 3000,
    captureRetryMs: 1000,
  },
  /** More lines: a SKU (one unit) or a SKU and its quantity. */
  skus: (string | LineQuantity)[] = [],
) {
  const sku = uniqueSku('h');
  await putProduct(sku, { stock: 10 });
  const c = customer();
  const orderId = `ord_${randomUUID().replace(/-/g, '')}`;
  created(orderId);
  const input: OrderWorkflowInput = {
    orderId,
    type: 'standard',
    customerId: c.id,
    items: [
      ...(quantity > 0 ? [{ sku, quantity }] : []),
      ...skus.map((s) => (typeof s === 'string' ? { sku: s, quantity: 1 } : s)),
    ],
    policy: { paymentTimeoutMs: 60_000, autoConfirmAfterMs: 2000, afterSalesWindowMs: 3000, ...policy },
  };
  await client.workflow.executeUpdateWithStart(createOrderUpdate, {
    startWorkflowOperation: new WithStartWorkflowOperation<
      (i: OrderWorkflowInput) => Promise<OrderWorkflowResult>
    >(ORDER_WORKFLOW_TYPE, {
      workflowId: orderId,
      taskQueue: process.env.TASK_QUEUE!,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
    }),
    updateId: 'create',
  });
  await pay(orderId, c, paymentToken);
  // In production, or past it already (a warehouse ships at once).
  await waitForOrder(
    orderId,
    c,
    (o) => o.history.some((h: { action: string }) => h.action === 'start_production'),
    30_000,
  );
  return { sku, c, id: orderId };
}

/** The sandbox warehouse's switches for a location (refuse, shortBy, failDelivery, stallAfter...). */
const sandbox = (location: string, switches: object) =>
  fetch(`${process.env.WAREHOUSE_URL}/v1/sandbox/locations/${location}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(switches),
  });

/** Two new locations (priorities 0 and 5), each holding 5 of a SKU of its own, misbehaving as told. */
async function twoLocations(first: object, second: object) {
  const made: { location: string; sku: string }[] = [];
  for (const [switches, priority] of [
    [first, 0],
    [second, 5],
  ] as const) {
    const location = `loc-${randomUUID().slice(0, 8)}`;
    const sku = uniqueSku('h');
    await call('PUT', `/v1/locations/${location}`, { as: merchant, body: { name: location, priority } });
    await putProduct(sku, { stock: 0 });
    await call('PUT', `/v1/products/${sku}/stock/${location}`, { as: merchant, body: { onHand: 5 } });
    await sandbox(location, switches);
    made.push({ location, sku });
  }
  return made as [(typeof made)[0], (typeof made)[0]];
}

/** An order placed and paid in another system, imported through a channel of its own (issue 22). */
async function importedOrder(created: (id: string) => void, status: 'PAID' | 'SHIPPED' = 'PAID') {
  const channel = `h-${randomUUID().slice(0, 8)}`;
  await call('PUT', `/v1/channels/${channel}`, { as: merchant, body: { name: 'Imports' } });
  const sku = uniqueSku('h');
  await putProduct(sku, { stock: 10, price: 1000 });
  const c: As = { ...customer(), channel };
  const reply = await call('POST', '/v1/orders/import', {
    as: merchant,
    body: {
      channel,
      externalId: `x-${randomUUID().slice(0, 8)}`,
      customerId: c.id,
      items: [{ sku, quantity: 2, unitPrice: 1000 }],
      amounts: { discount: 100, shipping: 500, total: 2400 },
      placedAt: new Date().toISOString(),
      status,
    },
  });
  if (reply.status !== 201) throw new Error(`import: ${reply.status} ${JSON.stringify(reply.body)}`);
  created(reply.body.order.id);
  return { sku, c, id: reply.body.order.id as string };
}

/** A customer of a channel of their own whose orders wait `paymentTimeout` for payment, not the stack's 2 s. */
async function channelCustomer(paymentTimeout: string): Promise<As> {
  const channel = `h-${randomUUID().slice(0, 8)}`;
  await call('PUT', `/v1/channels/${channel}`, { as: merchant, body: { name: 'Patient', paymentTimeout } });
  return { ...customer(), channel };
}

/** What a pay Update lost with its worker left behind: the first attempt's charge, made at the provider. */
async function chargeLost(id: string, as: As, { short = 0, amount = 0, token = 'tok_ok' } = {}) {
  const order = (await call('GET', `/v1/orders/${id}`, { as })).body.order;
  await new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!).charge({
    idempotencyKey: chargeKey(id, 1),
    orderId: id,
    amount: amount || order.amounts.total - short,
    currency: order.currency,
    token,
  });
}

/** A presale of its own (deposit 300, its balance window ending in `endsInMs`) and a customer's order of one unit. */
async function presaleOrder(
  created: (id: string) => void,
  endsInMs = 3_600_000,
  inventoryStrategy?: 'on_payment',
  /** Placed through a channel of its own with this payment timeout, not the stack's 2 s. */
  paymentTimeout?: string,
) {
  const sku = uniqueSku('h');
  await putProduct(sku, {
    stock: 10,
    ...(inventoryStrategy ? { inventoryStrategy } : {}),
    presale: {
      depositPerUnit: 300,
      balanceStartsAt: new Date(Date.now() - 60_000).toISOString(),
      balanceEndsAt: new Date(Date.now() + endsInMs).toISOString(),
    },
  });
  const c = paymentTimeout ? await channelCustomer(paymentTimeout) : customer();
  const id = await newOrder(c, [{ sku, quantity: 1 }], 'presale');
  created(id);
  return { c, id };
}

const scenarios: Record<string, Scenario> = {
  // Charges whose pay Update was lost (charge-in-worker), found by the order: one pays it at its
  // payment timeout (then shipped, completed), one found by a cancel (refused until the charge pays
  // the order, then cancelled and refunded), one for another amount is refunded before the order
  // expires, one is taken when the customer pays with another card.
  'lost-charges': async ({ created }) => {
    const [timedOut, cancelled, other, card] = [
      await oneOrder(created, { stock: 10 }, 1),
      await oneOrder(created, { stock: 10 }, 1),
      await oneOrder(created, { stock: 10 }, 1),
      await oneOrder(created, { stock: 10 }, 1),
    ];
    await chargeLost(timedOut.id, timedOut.c);
    await chargeLost(cancelled.id, cancelled.c);
    await chargeLost(other.id, other.c, { short: 100 });
    await chargeLost(card.id, card.c);
    const cancel = () => call('POST', `/v1/orders/${cancelled.id}/cancel`, { as: cancelled.c, body: {} });
    await cancel();
    await waitForOrder(cancelled.id, cancelled.c, (o) => o.paymentStatus === 'paid', 30_000);
    await cancel();
    await pay(card.id, card.c, 'tok_risky');
    for (const o of [timedOut, card]) {
      await until(o.id, o.c, 'IN_PRODUCTION');
      await ship(o.id);
    }
    for (const o of [timedOut, card]) await until(o.id, o.c, 'COMPLETED');
    await waitForOrder(cancelled.id, cancelled.c, (o) => o.amounts.refunded > 0, 30_000);
    await until(other.id, other.c, 'CANCELLED');
  },
  // A code that costs nothing: paid without a charge (free-orders), delivered, completed.
  'free-order': async ({ created }) => {
    const free = await oneOrder(created, { price: 0, kind: 'virtual', stock: 5 }, 1, 'virtual');
    await pay(free.id, free.c);
    await until(free.id, free.c, 'COMPLETED');
  },
  // Returns that finish (RETURN_DECISION_WINDOW, RETURN_SHIP_WINDOW: 2s here): one left undecided
  // (escalated, closed), one received in part damaged (written off, refunded), one approved whose
  // goods never come (closed).
  'return-windows': async ({ created }) => {
    const a = await oneOrder(created, { stock: 10 }, 3);
    const b = await oneOrder(created, { stock: 10 }, 1);
    for (const o of [a, b]) {
      await pay(o.id, o.c);
      await until(o.id, o.c, 'IN_PRODUCTION');
      await ship(o.id);
      await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.c, body: {} });
    }
    const ask = async (o: typeof a, quantity: number, reasonCode: string) =>
      (
        await call('POST', `/v1/orders/${o.id}/returns`, {
          as: o.c,
          body: { items: [{ sku: o.sku, quantity }], reason: 'h', reasonCode },
        })
      ).body.return.id as string;
    await ask(a, 1, 'changed_mind');
    const received = await ask(a, 2, 'damaged');
    const never = await ask(b, 1, 'size_or_fit');
    for (const id of [received, never])
      await call('POST', `/v1/returns/${id}/approve`, { as: merchant, body: {} });
    await call('POST', `/v1/returns/${received}/receive`, {
      as: merchant,
      body: { items: [{ sku: a.sku, sellable: 1, damaged: 1 }] },
    });
    for (const o of [a, b]) await until(o.id, o.c, 'COMPLETED');
  },
  // Claims on a confirmed order of 4: one damaged unit refunded (a loss in the ledger), one missing
  // unit replaced and shipped, one wrong item rejected, one replacement refunded instead; then the
  // order completes.
  claims: async ({ created }) => {
    const o = await oneOrder(created, { stock: 10 }, 4);
    await pay(o.id, o.c);
    await until(o.id, o.c, 'IN_PRODUCTION');
    await ship(o.id);
    await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.c, body: {} });
    const claim = async (kind: string, resolution: string) =>
      (
        await call('POST', `/v1/orders/${o.id}/claims`, {
          as: o.c,
          body: { items: [{ sku: o.sku, quantity: 1 }], kind, resolution, reason: 'h' },
        })
      ).body.claim.id as string;
    const damaged = await claim('damaged', 'refund');
    const missing = await claim('missing', 'replace');
    const wrong = await claim('wrong_item', 'refund');
    await call('POST', `/v1/claims/${damaged}/approve`, { as: merchant, body: {} });
    await call('POST', `/v1/claims/${missing}/approve`, { as: merchant, body: {} });
    await call('POST', `/v1/claims/${missing}/ship`, {
      as: merchant,
      body: { carrier: 'UPS', trackingNumber: 'H1' },
    });
    await call('POST', `/v1/claims/${wrong}/reject`, { as: merchant, body: {} });
    const instead = await claim('wrong_item', 'replace');
    await call('POST', `/v1/claims/${instead}/approve`, { as: merchant, body: {} });
    await call('POST', `/v1/claims/${instead}/refund-instead`, { as: merchant, body: {} });
    await until(o.id, o.c, 'COMPLETED');
  },
  // Exchanges on a confirmed order of 5: a dearer one paid, received, then shipped; a cheaper one
  // shipped, then received (one unit damaged) and its difference refunded; one paid, then
  // cancelled (refunded); one rejected; then the order completes.
  exchanges: async ({ created }) => {
    const o = await oneOrder(created, { stock: 10, price: 1000 }, 5);
    const [dearer, cheaper] = [uniqueSku('hx'), uniqueSku('hx')];
    await putProduct(dearer, { stock: 10, price: 1400 });
    await putProduct(cheaper, { stock: 10, price: 300 });
    await pay(o.id, o.c);
    await until(o.id, o.c, 'IN_PRODUCTION');
    await ship(o.id);
    await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.c, body: {} });
    const exchange = async (sku: string, returned = 1) =>
      (
        await call('POST', `/v1/orders/${o.id}/exchanges`, {
          as: o.c,
          body: {
            returnItems: [{ sku: o.sku, quantity: returned }],
            newItems: [{ sku, quantity: 1 }],
            reason: 'h',
          },
        })
      ).body.exchange.id as string;
    const act = (id: string, action: string, body: object = {}, as: As = merchant) =>
      call('POST', `/v1/exchanges/${id}/${action}`, { as, body });
    const up = await exchange(dearer);
    await act(up, 'pay', { paymentToken: 'tok_ok' }, o.c);
    await act(up, 'approve');
    await act(up, 'receive');
    await act(up, 'ship', { carrier: 'UPS', trackingNumber: 'HX1' });
    const down = await exchange(cheaper, 2);
    await act(down, 'approve');
    await act(down, 'ship', { carrier: 'UPS', trackingNumber: 'HX2' });
    await act(down, 'receive', { items: [{ sku: o.sku, sellable: 1, damaged: 1 }] });
    const dropped = await exchange(dearer);
    await act(dropped, 'pay', { paymentToken: 'tok_ok' }, o.c);
    await act(dropped, 'cancel', {}, o.c);
    const refused = await exchange(cheaper);
    await act(refused, 'reject');
    await until(o.id, o.c, 'COMPLETED');
  },
  // An exchange's difference charged with every answer lost and not listed yet: the pay is a 503
  // and its key kept; the exchange's ship window (2 s here) then cancels it, and, ended, it looks
  // for that charge until it shows (15 s here) and refunds it.
  'exchange-unshown-charge': async ({ created }) => {
    const { o, id } = await approvedDearerExchange(created);
    const lost = await call('POST', `/v1/exchanges/${id}/pay`, {
      as: o.c,
      body: { paymentToken: 'tok_lost_unlisted' },
    });
    if (lost.status !== 503) throw new Error(`exchange-unshown-charge: the lost pay answered ${lost.status}`);
    await until(o.id, o.c, 'COMPLETED');
    const provider = new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!);
    for (let i = 0; i < 90 && (await provider.refundsOf(id)).length === 0; i++) await sleep(1000);
    if ((await provider.refundsOf(id)).length === 0)
      throw new Error('exchange-unshown-charge: never refunded');
  },
  // An exchange's 3-D Secure step of the difference never finished: given up after the grace
  // (3 s here), the difference payable again; nobody pays, and the ship window (2 s) cancels it.
  'exchange-step-given-up': async ({ created, client }) => {
    const { o, id } = await approvedDearerExchange(created);
    const step = await call('POST', `/v1/exchanges/${id}/pay`, {
      as: o.c,
      body: { paymentToken: 'tok_3ds' },
    });
    if (step.status !== 202) throw new Error(`exchange-step-given-up: the pay answered ${step.status}`);
    await until(o.id, o.c, 'COMPLETED');
    const ended = (await call('GET', `/v1/exchanges/${id}`, { as: o.c })).body.exchange;
    if (ended.payment?.code !== 'abandoned')
      throw new Error('exchange-step-given-up: the step was not given up');
    // The order's workflow ends just after its last record.
    for (let i = 0; i < 40; i++) {
      if ((await client.workflow.getHandle(o.id).describe()).status.name !== 'RUNNING') return;
      await sleep(500);
    }
  },
  // Edits: an unpaid order edited (a line changed, one added), then paid; a paid one edited up
  // (the difference charged) and down (the excess refunded); then both ship and complete.
  edits: async ({ created }) => {
    const unpaid = await oneOrder(created, { stock: 20, price: 1000 }, 2);
    const other = uniqueSku('he');
    await putProduct(other, { stock: 20, price: 700 });
    const edit = async (id: string, as: As, body: object) =>
      (await call('POST', `/v1/orders/${id}/edits`, { as, body })).body.edit.id as string;
    const confirm = (editId: string, as: As, body: object = {}) =>
      call('POST', `/v1/order-edits/${editId}/confirm`, { as, body });
    await confirm(
      await edit(unpaid.id, unpaid.c, {
        change: [{ sku: unpaid.sku, quantity: 3 }],
        add: [{ sku: other, quantity: 1 }],
      }),
      unpaid.c,
    );
    await pay(unpaid.id, unpaid.c);
    const paid = await oneOrder(created, { stock: 20, price: 1200 }, 2);
    await pay(paid.id, paid.c);
    await until(paid.id, paid.c, 'IN_PRODUCTION');
    await confirm(await edit(paid.id, paid.c, { add: [{ sku: other, quantity: 2 }] }), paid.c, {
      paymentToken: 'tok_ok',
    });
    await confirm(await edit(paid.id, merchant, { remove: [{ sku: other }] }), merchant);
    for (const o of [unpaid, paid]) {
      await until(o.id, o.c, 'IN_PRODUCTION');
      await ship(o.id);
      await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.c, body: {} });
      await until(o.id, o.c, 'COMPLETED');
    }
  },
  // An edit's difference charged with every answer lost and not listed yet (15 s here): a 503, its
  // key kept. One order confirms it again once the charge shows (paid by it); one, left alone,
  // finds it and refunds it, and meanwhile takes another edit under a key of its own; both then
  // ship and complete. A third is cancelled at once (looked for first, not shown yet), and, ended,
  // finds the charge and refunds it.
  'edit-unshown-charge': async ({ created }) => {
    const orders = await Promise.all(
      [0, 1, 2].map(async () => {
        const o = await oneOrder(created, { stock: 10, price: 1000 }, 1);
        await pay(o.id, o.c);
        await until(o.id, o.c, 'IN_PRODUCTION');
        const edit = (
          await call('POST', `/v1/orders/${o.id}/edits`, {
            as: o.c,
            body: { change: [{ sku: o.sku, quantity: 2 }] },
          })
        ).body.edit.id as string;
        const confirm = (paymentToken: string) =>
          call('POST', `/v1/order-edits/${edit}/confirm`, { as: o.c, body: { paymentToken } });
        const lost = await confirm('tok_lost_unlisted');
        if (lost.status !== 503)
          throw new Error(`edit-unshown-charge: the lost confirm answered ${lost.status}`);
        return { ...o, confirm };
      }),
    );
    const [again, alone, cancelled] = orders as [
      (typeof orders)[number],
      (typeof orders)[number],
      (typeof orders)[number],
    ];
    await call('POST', `/v1/orders/${cancelled.id}/cancel`, { as: cancelled.c, body: { reason: 'no' } });
    const otherEdit = (
      await call('POST', `/v1/orders/${alone.id}/edits`, {
        as: alone.c,
        body: { change: [{ sku: alone.sku, quantity: 3 }] },
      })
    ).body.edit.id as string;
    const other = await call('POST', `/v1/order-edits/${otherEdit}/confirm`, {
      as: alone.c,
      body: { paymentToken: 'tok_ok' },
    });
    if (other.status !== 200) throw new Error(`edit-unshown-charge: another edit answered ${other.status}`);
    // Confirmed again at once with another card: the key is reused, the charge not shown, a 503.
    // Then asked every 200 ms, to be answered with the charge once it shows, before the order's
    // own look (a second after) finds and refunds it (if that comes first, the preview is stale).
    let confirmed = await again.confirm('tok_ok');
    if (confirmed.status === 503) await sleep(5000); // each ask is an Update in the history: fewer
    for (let i = 0; i < 300 && confirmed.status === 503; i++) {
      await sleep(200);
      confirmed = await again.confirm('tok_ok');
    }
    await waitForOrder(again.id, again.c, (o) => o.items[0].quantity === 2 || o.amounts.refunded > 0, 30_000);
    await waitForOrder(alone.id, alone.c, (o) => o.amounts.refunded > 0, 90_000);
    await waitForOrder(
      cancelled.id,
      cancelled.c,
      (o) => o.history.some((h: { action: string }) => h.action === 'lost_payment_refunded'),
      90_000,
    );
    for (const o of [again, alone]) {
      await ship(o.id);
      await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.c, body: {} });
      await until(o.id, o.c, 'COMPLETED');
    }
  },
  // Imported orders: one shipped and refunded in part (owed by its channel), one cancelled, one
  // imported as shipped and returned.
  imported: async ({ created }) => {
    const shipped = await importedOrder(created);
    await until(shipped.id, shipped.c, 'IN_PRODUCTION');
    await ship(shipped.id);
    await call('POST', `/v1/orders/${shipped.id}/refunds`, {
      as: merchant,
      body: { items: [{ sku: shipped.sku, quantity: 1 }], reason: 'damaged' },
    });
    const cancelled = await importedOrder(created);
    await until(cancelled.id, cancelled.c, 'IN_PRODUCTION');
    await call('POST', `/v1/orders/${cancelled.id}/cancel`, { as: merchant, body: { reason: 'h' } });
    const returned = await importedOrder(created, 'SHIPPED');
    await call('POST', `/v1/orders/${returned.id}/confirm`, { as: returned.c, body: {} });
    const ret = await call('POST', `/v1/orders/${returned.id}/returns`, {
      as: returned.c,
      body: { items: [{ sku: returned.sku, quantity: 1 }], reason: 'h' },
    });
    await call('POST', `/v1/returns/${ret.body.return.id}/approve`, { as: merchant, body: {} });
    await call('POST', `/v1/returns/${ret.body.return.id}/receive`, { as: merchant, body: {} });
    for (const o of [shipped, returned]) await until(o.id, o.c, 'COMPLETED');
    await until(cancelled.id, cancelled.c, 'CANCELLED');
  },
  // FULFILMENT=warehouse: two locations, two fulfilment workflows, shipped in parcels and delivered.
  'warehouse-parcels': async ({ created, client }) => {
    const other = uniqueSku('h');
    await putProduct(other, { stock: 0 });
    const west = `west-${randomUUID().slice(0, 8)}`;
    await call('PUT', `/v1/locations/${west}`, { as: merchant, body: { name: 'West', priority: 1 } });
    await call('PUT', `/v1/products/${other}/stock/${west}`, { as: merchant, body: { onHand: 5 } });
    const order = await heldOrder(created, client, 'tok_ok', 1, { fulfilment: 'warehouse' }, [other]);
    await waitForOrder(order.id, order.c, (o) => o.deliveredAt !== undefined, 30_000);
    await until(order.id, order.c, 'COMPLETED');
  },
  // A warehouse short by one unit: sent from a spare location for one order, refunded for another.
  'warehouse-short-pick': async ({ created, client }) => {
    const short = `short-${randomUUID().slice(0, 8)}`;
    const spare = `spare-${randomUUID().slice(0, 8)}`;
    for (const [id, priority] of [
      [short, 0],
      [spare, 5],
    ] as const)
      await call('PUT', `/v1/locations/${id}`, { as: merchant, body: { name: id, priority } });
    await sandbox(short, { shortBy: 1 });
    const [moved, refunded] = [uniqueSku('h'), uniqueSku('h')];
    for (const sku of [moved, refunded]) {
      await putProduct(sku, { stock: 0 });
      await call('PUT', `/v1/products/${sku}/stock/${short}`, { as: merchant, body: { onHand: 5 } });
    }
    await call('PUT', `/v1/products/${moved}/stock/${spare}`, { as: merchant, body: { onHand: 5 } });
    const a = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [moved, moved]);
    const b = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [
      refunded,
      refunded,
    ]);
    await until(a.id, a.c, 'COMPLETED');
    await until(b.id, b.c, 'COMPLETED');
  },
  // A parcel the carrier could not deliver, returned to its sender: restocked there and refunded.
  // A parcel back at its sender while a claim holds its unit: support is asked, the claim refunds it all.
  'warehouse-held-parcel': async ({ created, client }) => {
    const east = `east-${randomUUID().slice(0, 8)}`;
    await call('PUT', `/v1/locations/${east}`, { as: merchant, body: { name: 'East', priority: 0 } });
    await sandbox(east, { stallAfter: 'shipped' });
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 0 });
    await call('PUT', `/v1/products/${sku}/stock/${east}`, { as: merchant, body: { onHand: 5 } });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [sku]);
    await until(order.id, order.c, 'SHIPPED');
    const claim = await call('POST', `/v1/orders/${order.id}/claims`, {
      as: order.c,
      body: { items: [{ sku, quantity: 1 }], kind: 'missing', resolution: 'refund', reason: 'h' },
    });
    await sandbox(east, { failDelivery: true });
    await sleep(3000);
    await call('POST', `/v1/claims/${claim.body.claim.id}/approve`, { as: merchant, body: {} });
    await until(order.id, order.c, 'REFUNDED');
  },
  'warehouse-returned-to-sender': async ({ created, client }) => {
    const east = `east-${randomUUID().slice(0, 8)}`;
    await call('PUT', `/v1/locations/${east}`, { as: merchant, body: { name: 'East', priority: 0 } });
    await sandbox(east, { failDelivery: true });
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 0 });
    await call('PUT', `/v1/products/${sku}/stock/${east}`, { as: merchant, body: { onHand: 5 } });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [sku]);
    await until(order.id, order.c, 'REFUNDED');
  },
  // Cancelled while partly shipped: the other location is stopped, the parcel gone is recalled and restocked once back.
  'warehouse-cancel-recalls-parcel': async ({ created, client }) => {
    const [gone, slow] = [`gone-${randomUUID().slice(0, 8)}`, `slow-${randomUUID().slice(0, 8)}`];
    const [x, y] = [uniqueSku('h'), uniqueSku('h')];
    for (const [location, sku, priority] of [
      [gone, x, 0],
      [slow, y, 5],
    ] as const) {
      await call('PUT', `/v1/locations/${location}`, { as: merchant, body: { name: location, priority } });
      await putProduct(sku, { stock: 0 });
      await call('PUT', `/v1/products/${sku}/stock/${location}`, { as: merchant, body: { onHand: 5 } });
    }
    await sandbox(gone, { stallAfter: 'shipped' });
    await sandbox(slow, { stallAfter: 'accepted' });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [x, y]);
    await until(order.id, order.c, 'PARTIALLY_SHIPPED');
    await call('POST', `/v1/orders/${order.id}/cancel`, { as: order.c, body: {} });
    await sandbox(gone, {});
    await client.workflow.getHandle(order.id).result();
  },
  // The same, but the carrier never brings the recalled parcel back: given up after the order's
  // parcel news wait (recalled-parcels-given-up), support asked, and the workflow ends.
  'warehouse-recall-lost': async ({ created, client }) => {
    const [x, y] = await twoLocations({ stallAfter: 'shipped' }, { stallAfter: 'accepted' });
    const policy = { fulfilment: 'warehouse', parcelNewsWaitMs: 3000 } as const;
    const order = await heldOrder(created, client, 'tok_ok', 0, policy, [x.sku, y.sku]);
    await until(order.id, order.c, 'PARTIALLY_SHIPPED');
    await call('POST', `/v1/orders/${order.id}/cancel`, { as: order.c, body: {} });
    await client.workflow.getHandle(order.id).result();
  },
  // One SKU from two locations: the first parcel comes back undelivered (refunded) before the second ships.
  'warehouse-returned-while-partly-shipped': async ({ created, client }) => {
    const [failing, later] = [`fail-${randomUUID().slice(0, 8)}`, `later-${randomUUID().slice(0, 8)}`];
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 0 });
    for (const [location, priority] of [
      [failing, 0],
      [later, 5],
    ] as const) {
      await call('PUT', `/v1/locations/${location}`, { as: merchant, body: { name: location, priority } });
      await call('PUT', `/v1/products/${sku}/stock/${location}`, { as: merchant, body: { onHand: 1 } });
    }
    await sandbox(failing, { failDelivery: true });
    await sandbox(later, { stallAfter: 'packed' });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [sku, sku]);
    await waitForOrder(order.id, order.c, (o) => o.amounts.refunded > 0, 30_000);
    await sandbox(later, {});
    await until(order.id, order.c, 'COMPLETED');
  },
  // The last parcel comes empty (its one unit short, none elsewhere): refunded, and the order ships.
  'warehouse-empty-last-parcel': async ({ created, client }) => {
    const [x, y] = await twoLocations({}, { shortBy: 1, holdNews: true });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [x.sku, y.sku]);
    await until(order.id, order.c, 'PARTIALLY_SHIPPED');
    await sandbox(y.location, {});
    await until(order.id, order.c, 'COMPLETED');
  },
  // A location refuses its part; the rest ships; support refunds the refused unit, and the order ships.
  'warehouse-refused-part-refunded': async ({ created, client }) => {
    const [x, y] = await twoLocations({}, { refuse: true });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [x.sku, y.sku]);
    await until(order.id, order.c, 'PARTIALLY_SHIPPED');
    await call('POST', `/v1/orders/${order.id}/refunds`, {
      as: support,
      body: { items: [{ sku: y.sku, quantity: 1 }], reason: 'h' },
    });
    await until(order.id, order.c, 'COMPLETED');
  },
  // The same with two refused units, one refunded (written off where it was refused:
  // refund-writes-off-unsent), then the order cancelled: the parcel with the carrier recalled.
  'warehouse-refused-part-refunded-then-cancelled': async ({ created, client }) => {
    const [x, y] = await twoLocations({ stallAfter: 'shipped' }, { refuse: true });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [
      x.sku,
      { sku: y.sku, quantity: 2 },
    ]);
    await until(order.id, order.c, 'PARTIALLY_SHIPPED');
    const refund = await call('POST', `/v1/orders/${order.id}/refunds`, {
      as: support,
      body: { items: [{ sku: y.sku, quantity: 1 }], reason: 'h' },
    });
    if (refund.status !== 201)
      throw new Error(`refused-part-refunded-then-cancelled: refund ${refund.status}`);
    await call('POST', `/v1/orders/${order.id}/cancel`, { as: order.c, body: {} });
    await sandbox(x.location, {});
    await client.workflow.getHandle(order.id).result();
  },
  // Every location refused: staff refund one unit (written off there), then the customer cancels.
  'warehouse-all-refused-refunded-then-cancelled': async ({ created, client }) => {
    const [, y] = await twoLocations({}, { refuse: true });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [
      { sku: y.sku, quantity: 2 },
    ]);
    await waitForOrder(
      order.id,
      order.c,
      (o) => o.fulfilments.some((f: { status: string }) => f.status === 'refused'),
      30_000,
    );
    const refund = await call('POST', `/v1/orders/${order.id}/refunds`, {
      as: support,
      body: { items: [{ sku: y.sku, quantity: 1 }], reason: 'h' },
    });
    if (refund.status !== 201)
      throw new Error(`all-refused-refunded-then-cancelled: refund ${refund.status}`);
    await call('POST', `/v1/orders/${order.id}/cancel`, { as: order.c, body: {} });
    await client.workflow.getHandle(order.id).result();
  },
  // Cancelled after one parcel came empty (its unit short, refunded): nothing more to stop there.
  'warehouse-cancel-after-empty-parcel': async ({ created, client }) => {
    const [x, y] = await twoLocations({ stallAfter: 'accepted' }, { shortBy: 1 });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [x.sku, y.sku]);
    await waitForOrder(order.id, order.c, (o) => o.amounts.refunded > 0, 30_000);
    await call('POST', `/v1/orders/${order.id}/cancel`, { as: order.c, body: {} });
    await client.workflow.getHandle(order.id).result();
    for (const { location } of [x, y])
      await client.workflow.getHandle(`${order.id}-fulfil-${location}`).result();
  },
  // Refunded in full while its parcel is with the carrier, which then brings it back: support is asked.
  'warehouse-ended-parcel-returned': async ({ created, client }) => {
    const [x] = await twoLocations({ stallAfter: 'in_transit' }, {});
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [x.sku]);
    await until(order.id, order.c, 'SHIPPED');
    await call('POST', `/v1/orders/${order.id}/refunds`, { as: support, body: { reason: 'h' } });
    await sandbox(x.location, { failDelivery: true });
    await client.workflow.getHandle(order.id).result();
  },
  // Cancelled after a pick that found its unit short, before the parcel left: written off there.
  'warehouse-cancelled-short-pick': async ({ created, client }) => {
    const [, y] = await twoLocations({}, { shortBy: 1, stallAfter: 'picked' });
    const order = await heldOrder(created, client, 'tok_ok', 0, { fulfilment: 'warehouse' }, [y.sku]);
    await sleep(3000);
    await call('POST', `/v1/orders/${order.id}/cancel`, { as: order.c, body: {} });
    await client.workflow.getHandle(order.id).result();
    // Its fulfilment ends once the warehouse's news of the cancel comes.
    await client.workflow.getHandle(`${order.id}-fulfil-${y.location}`).result();
  },
  // A hold whose renewal is declined after a parcel left: captured, not cancelled; the rest ships.
  'warehouse-hold-captured-not-renewed': async ({ created, client }) => {
    const [x, y] = await twoLocations({}, { stallAfter: 'accepted' });
    const policy = {
      fulfilment: 'warehouse',
      capture: 'on_shipment',
      reauthorizeBeforeMs: 3000,
      captureRetryMs: 1000,
    } as const;
    const order = await heldOrder(created, client, 'tok_reauth_declined', 0, policy, [x.sku, y.sku]);
    await waitForOrder(
      order.id,
      order.c,
      (o) => o.history.some((h: { action: string }) => h.action === 'payment_captured'),
      30_000,
    );
    await sandbox(y.location, {});
    await until(order.id, order.c, 'COMPLETED');
  },
  // A capture after shipment without an answer (capture-retries-own-word): still tried after a
  // failed delivery took the order's flag, and captured once the provider answers; that flag stays.
  'capture-retries-own-word': async ({ created, client }) => {
    const [x] = await twoLocations({ stallAfter: 'in_transit' }, {});
    const policy = { fulfilment: 'warehouse', capture: 'on_shipment', captureRetryMs: 1000 } as const;
    const order = await heldOrder(created, client, 'tok_capture_unanswered', 0, policy, [x.sku]);
    // Each try of the capture takes its retries' 8 s, the order's lock held meanwhile.
    await waitForOrder(order.id, order.c, (o) => o.status === 'COMPLETED', 90_000);
    await sandbox(x.location, { failDelivery: true });
    const tries = (o: { history: { action: string }[] }) =>
      o.history.filter((h) => h.action === 'capture_failed').length;
    const flagged = await waitForOrder(
      order.id,
      support,
      (o) => o.attention?.code === 'delivery_failed',
      30_000,
    );
    await waitForOrder(order.id, support, (o) => tries(o) > tries(flagged), 60_000);
    await fetch(`${process.env.PAYMENT_PROVIDER_URL}/v1/sandbox/captures/${order.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ answer: true }),
    });
    await client.workflow.getHandle(order.id).result();
  },
  // By hand, in two parcels.
  'standard-shipped-in-parcels': async ({ created }) => {
    const { sku, c, id } = await oneOrder(created, { stock: 10 }, 3);
    await pay(id, c);
    await until(id, c, 'IN_PRODUCTION');
    await shipOneByHand(id, sku);
    await ship(id);
    await until(id, c, 'COMPLETED');
  },
  // By hand, one parcel of three units; staff refund one unit not shipped, then ship the rest.
  'standard-partly-shipped-refund-restocks': async ({ created }) => {
    const { sku, c, id } = await oneOrder(created, { stock: 10 }, 3);
    await pay(id, c);
    await until(id, c, 'IN_PRODUCTION');
    await shipOneByHand(id, sku);
    await call('POST', `/v1/orders/${id}/refunds`, {
      as: merchant,
      body: { items: [{ sku, quantity: 1 }], reason: 'replay' },
    });
    await ship(id);
    await until(id, c, 'COMPLETED');
  },
  // Paid with a card the provider scores risky: held for review; approved, rejected, or left to time out.
  'review-hold': async ({ created }) => {
    const approved = await oneOrder(created, { stock: 10 }, 1);
    await pay(approved.id, approved.c, 'tok_risky');
    await until(approved.id, approved.c, 'IN_REVIEW');
    await call('POST', `/v1/orders/${approved.id}/approve`, { as: merchant, body: {} });
    await ship(approved.id);
    const rejected = await oneOrder(created, { stock: 10 }, 1);
    await pay(rejected.id, rejected.c, 'tok_risky');
    await until(rejected.id, rejected.c, 'IN_REVIEW');
    await call('POST', `/v1/orders/${rejected.id}/reject`, { as: merchant, body: { reason: 'replay' } });
    const lapsed = await oneOrder(created, { stock: 10 }, 1);
    await pay(lapsed.id, lapsed.c, 'tok_risky');
    await until(approved.id, approved.c, 'COMPLETED');
    await until(rejected.id, rejected.c, 'CANCELLED');
    await until(lapsed.id, lapsed.c, 'CANCELLED');
  },
  // Stock at two locations: an order allocated over both, modified down, paid and cancelled.
  'stock-locations': async ({ created }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 2 });
    const east = `east-${randomUUID().slice(0, 8)}`;
    await call('PUT', `/v1/locations/${east}`, { as: merchant, body: { name: 'East', priority: 1 } });
    await call('PUT', `/v1/products/${sku}/stock/${east}`, { as: merchant, body: { onHand: 2 } });
    const c = customer();
    const id = await newOrder(c, [{ sku, quantity: 4 }]);
    created(id);
    await call('PATCH', `/v1/orders/${id}`, { as: c, body: { items: [{ sku, quantity: 3 }] } });
    await pay(id, c);
    await until(id, c, 'IN_PRODUCTION');
    await call('POST', `/v1/orders/${id}/cancel`, { as: c, body: { reason: 'replay' } });
    await until(id, c, 'CANCELLED');
  },
  // Held at pay, part released by a refund, captured at shipment; a hold voided by a cancel; one
  // renewed, one that could not be (the order cancelled); a capture refused after shipment (flagged).
  'capture-at-shipment': async ({ created, client }) => {
    const captured = await heldOrder(created, client, 'tok_ok', 2);
    await call('POST', `/v1/orders/${captured.id}/refunds`, {
      as: merchant,
      body: { items: [{ sku: captured.sku, quantity: 1 }], reason: 'replay' },
    });
    await ship(captured.id);
    const voided = await heldOrder(created, client, 'tok_ok');
    await call('POST', `/v1/orders/${voided.id}/cancel`, { as: voided.c, body: { reason: 'replay' } });
    const renewed = await heldOrder(created, client, 'tok_short_auth');
    await waitForOrder(
      renewed.id,
      renewed.c,
      (o) => o.history.some((h: { action: string }) => h.action === 'reauthorized'),
      30_000,
    );
    await ship(renewed.id);
    const lapsed = await heldOrder(created, client, 'tok_reauth_declined');
    const flagged = await heldOrder(created, client, 'tok_capture_fails');
    await ship(flagged.id);
    await until(captured.id, captured.c, 'COMPLETED');
    await until(renewed.id, renewed.c, 'COMPLETED');
    await until(lapsed.id, lapsed.c, 'CANCELLED');
    await until(flagged.id, flagged.c, 'COMPLETED');
  },
  // A renewal the provider still processes when its answer is given up on, after the hold it would
  // replace has run out (renewal-waits-while-processing): the order is cancelled as for a refused
  // renewal, and the renewal, which the provider would not cancel yet, is let go once it settles
  // (in v44 the cancel's own void of held payments reached it first; the workflow then found it voided).
  'renewal-processing-past-its-hold': async ({ created, client }) => {
    const policy = {
      capture: 'on_shipment',
      reauthorizeBeforeMs: 3000,
      captureRetryMs: 1000,
      pendingPaymentPollMs: 1000,
    } as const;
    const lapsed = await heldOrder(created, client, 'tok_reauth_slow', 1, policy);
    await until(lapsed.id, lapsed.c, 'CANCELLED');
    await client.workflow.getHandle(lapsed.id).result();
  },
  // Input that skipped the API (started directly) and cannot be stored: refused before placement.
  'unstorable-input-refused': async ({ created, client }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 10 });
    const orderId = `ord_${randomUUID().replace(/-/g, '')}`;
    created(orderId);
    const input: OrderWorkflowInput = {
      orderId,
      type: 'standard',
      customerId: 'cus_unstorable',
      items: [{ sku, quantity: 1 }],
      couponCode: '\ud800',
      policy: { paymentTimeoutMs: 60_000, autoConfirmAfterMs: 60_000, afterSalesWindowMs: 60_000 },
    };
    const start = new WithStartWorkflowOperation<(i: OrderWorkflowInput) => Promise<OrderWorkflowResult>>(
      ORDER_WORKFLOW_TYPE,
      {
        workflowId: orderId,
        taskQueue: process.env.TASK_QUEUE!,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
      },
    );
    await client.workflow
      .executeUpdateWithStart(createOrderUpdate, { startWorkflowOperation: start, updateId: 'create' })
      .then(
        () => {
          throw new Error('an unstorable order was placed');
        },
        () => undefined,
      );
    await client.workflow.getHandle(orderId).result();
    // And an order placed through the API, which refuses an Update that holds what cannot be stored.
    const c = customer();
    const id = await newOrder(c, [{ sku, quantity: 1 }]);
    created(id);
    await client.workflow
      .getHandle(id)
      .executeUpdate(orderActionUpdate, { args: [{ action: 'cancel', actor: c, reason: 'bye\u0000' }] })
      .then(
        () => {
          throw new Error('an unstorable reason was accepted');
        },
        () => undefined,
      );
    await call('POST', `/v1/orders/${id}/cancel`, { as: c, body: { reason: 'changed my mind' } });
    await until(id, c, 'CANCELLED');
  },
  'standard-completed': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10 }, 2);
    await pay(id, c, 'tok_declined');
    await pay(id, c);
    await until(id, c, 'IN_PRODUCTION');
    await ship(id);
    await call('POST', `/v1/orders/${id}/confirm`, { as: c, body: {} });
    await until(id, c, 'COMPLETED');
  },
  'standard-auto-confirmed': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10 }, 1);
    await pay(id, c, 'tok_flaky');
    await until(id, c, 'IN_PRODUCTION');
    await ship(id);
    await until(id, c, 'COMPLETED');
  },
  'standard-payment-timeout': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10 }, 1);
    await until(id, c, 'CANCELLED');
  },
  // Support's "Request Cancellation" (patched 'cancellation-request-cancels-order'): a paid order
  // cancelled by it, a shipped one that refuses it and goes on.
  'cancellation-requested': async ({ created, client }) => {
    const paid = await oneOrder(created, { stock: 10 }, 1);
    await pay(paid.id, paid.c);
    await until(paid.id, paid.c, 'IN_PRODUCTION');
    await client.workflow.getHandle(paid.id).cancel();
    await until(paid.id, paid.c, 'CANCELLED');
    const shipped = await oneOrder(created, { stock: 10 }, 1);
    await pay(shipped.id, shipped.c);
    await until(shipped.id, shipped.c, 'IN_PRODUCTION');
    await ship(shipped.id);
    await client.workflow.getHandle(shipped.id).cancel();
    await sleep(1000);
    await call('POST', `/v1/orders/${shipped.id}/confirm`, { as: shipped.c, body: {} });
    await until(shipped.id, shipped.c, 'COMPLETED');
  },
  // Cancellation requests on a return (undecided: rejected), a replacement claim (approved: not
  // taken, then shipped) and an exchange (cancelled); then the order completes.
  'case-cancellation-requested': async ({ created, client }) => {
    const o = await oneOrder(created, { stock: 10, price: 1000 }, 4);
    await pay(o.id, o.c);
    await until(o.id, o.c, 'IN_PRODUCTION');
    await ship(o.id);
    const open = async (what: string, body: object) =>
      (await call('POST', `/v1/orders/${o.id}/${what}s`, { as: o.c, body })).body[what].id as string;
    const returned = await open('return', { items: [{ sku: o.sku, quantity: 1 }], reason: 'h' });
    const claimed = await open('claim', {
      items: [{ sku: o.sku, quantity: 1 }],
      kind: 'missing',
      resolution: 'replace',
      reason: 'h',
    });
    const exchanged = await open('exchange', {
      returnItems: [{ sku: o.sku, quantity: 1 }],
      newItems: [{ sku: o.sku, quantity: 1 }],
      reason: 'h',
    });
    await call('POST', `/v1/claims/${claimed}/approve`, { as: merchant, body: {} });
    for (const id of [returned, claimed, exchanged]) await client.workflow.getHandle(id).cancel();
    await sleep(1000);
    await call('POST', `/v1/claims/${claimed}/ship`, {
      as: merchant,
      body: { carrier: 'UPS', trackingNumber: 'H2' },
    });
    await call('POST', `/v1/orders/${o.id}/confirm`, { as: o.c, body: {} });
    await until(o.id, o.c, 'COMPLETED');
  },
  'standard-cancelled-after-payment': async ({ created }) => {
    const { sku, c, id } = await oneOrder(created, { stock: 10 }, 3);
    await call('PATCH', `/v1/orders/${id}`, { as: c, body: { items: [{ sku, quantity: 2 }] } });
    await pay(id, c);
    await until(id, c, 'IN_PRODUCTION');
    await call('PATCH', `/v1/orders/${id}`, {
      as: c,
      body: {
        shippingAddress: {
          name: 'R',
          line1: '1 Replay St',
          city: 'Rome',
          postalCode: '00100',
          country: 'IT',
        },
      },
    });
    await call('POST', `/v1/orders/${id}/cancel`, { as: c, body: { reason: 'replay' } });
  },
  'standard-stock-out-and-rejected': async ({ created }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 1, inventoryStrategy: 'on_payment' });
    const [a, b] = [customer(), customer()];
    const first = await newOrder(a, [{ sku, quantity: 1 }]);
    const second = await newOrder(b, [{ sku, quantity: 1 }]);
    created(first);
    created(second);
    await pay(first, a);
    await pay(second, b);
    await until(second, b, 'CANCELLED');
    await call('POST', `/v1/orders/${first}/cancel`, { as: merchant, body: {} });
    const held = uniqueSku('h');
    await putProduct(held, { stock: 0 });
    // Refused at placement: the workflow ends as REJECTED.
    await call('POST', '/v1/orders', { as: a, body: { items: [{ sku: held, quantity: 1 }] } });
  },
  'refunds-partial-then-all': async ({ created }) => {
    const [x, y] = [uniqueSku('h'), uniqueSku('h')];
    await putProduct(x, { stock: 10, price: 1000 });
    await putProduct(y, { stock: 10, price: 3000 });
    const c = customer();
    const id = await newOrder(c, [
      { sku: x, quantity: 2 },
      { sku: y, quantity: 1 },
    ]);
    created(id);
    await pay(id, c);
    await until(id, c, 'IN_PRODUCTION');
    await call('POST', `/v1/orders/${id}/refunds`, {
      as: merchant,
      body: { items: [{ sku: x, quantity: 1 }], reason: 'replay' },
    });
    await call('POST', `/v1/orders/${id}/refunds`, { as: merchant, body: { reason: 'replay' } });
    await until(id, c, 'REFUNDED');
  },
  'returns-refunded-and-rejected': async ({ created }) => {
    const { sku, c, id } = await oneOrder(created, { stock: 10 }, 3);
    await pay(id, c);
    await until(id, c, 'IN_PRODUCTION');
    await ship(id);
    const rejected = (
      await call('POST', `/v1/orders/${id}/returns`, {
        as: c,
        body: { items: [{ sku, quantity: 1 }], reason: 'r' },
      })
    ).body.return;
    await call('POST', `/v1/returns/${rejected.id}/reject`, { as: merchant, body: { reason: 'used' } });
    await sleep(500);
    const ret = (
      await call('POST', `/v1/orders/${id}/returns`, {
        as: c,
        body: { items: [{ sku, quantity: 2 }], reason: 'r' },
      })
    ).body.return;
    await call('POST', `/v1/returns/${ret.id}/approve`, { as: merchant, body: {} });
    await call('POST', `/v1/returns/${ret.id}/receive`, { as: merchant, body: {} });
    await until(id, c, 'COMPLETED');
  },
  // Every reply to the charge is lost: the workflow looks the charge up (issue 19), then a cancel refunds it.
  'payment-reply-lost': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10 }, 1);
    await pay(id, c, 'tok_lost');
    await until(id, c, 'IN_PRODUCTION');
    await call('POST', `/v1/orders/${id}/cancel`, { as: c, body: { reason: 'replay' } });
    await until(id, c, 'CANCELLED');
  },
  // Every reply to the charge is lost and the provider's search does not show it yet: a 503, the
  // key kept; the order expires, then finds the charge once shown and refunds it.
  'payment-unshown-refunded': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10, inventoryStrategy: 'on_payment' }, 1);
    const lost = await pay(id, c, 'tok_lost_unlisted');
    if (lost.status !== 503) throw new Error(`payment-unshown-refunded: pay answered ${lost.status}`);
    await until(id, c, 'CANCELLED');
    await waitForOrder(id, c, (o) => o.amounts.refunded > 0, 60_000);
  },
  // A lost pay Update's charge (not listed yet) on an order the API told its pay went unanswered:
  // the cancel finds nothing, the ended order keeps looking and refunds it once shown
  // (unanswered-pay-key-watched).
  'payment-unanswered-refunded': async ({ created, client }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 10 });
    const c = await channelCustomer('90s');
    const id = await newOrder(c, [{ sku, quantity: 1 }]);
    created(id);
    await chargeLost(id, c, { token: 'tok_lost_unlisted' }).catch(() => undefined);
    await client.workflow.getHandle(id).signal(payUnansweredSignal, { updateId: 'upd_lost' });
    await call('POST', `/v1/orders/${id}/cancel`, { as: c, body: { reason: 'replay' } });
    await until(id, c, 'CANCELLED');
    await waitForOrder(id, c, (o) => o.amounts.refunded > 0, 60_000);
    await client.workflow.getHandle(id).result();
  },
  // A pay whose answer was lost, its charge not listed: the key is kept. Asked again past the
  // provider's memory of keys (PAYMENT_KEY_MEMORY, 5 s here), it is looked up first, and the charge
  // found pays the order; the customer then cancels (kept-key-looked-up-when-old).
  'kept-key-looked-up-when-old': async ({ created, client }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 10, inventoryStrategy: 'on_payment' });
    const c = await channelCustomer('90s');
    const id = await newOrder(c, [{ sku, quantity: 1 }]);
    created(id);
    const lost = await pay(id, c, 'tok_lost_unlisted');
    if (lost.status !== 503) throw new Error(`kept-key-looked-up-when-old: pay answered ${lost.status}`);
    const provider = new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!);
    for (let i = 0; i < 120 && (await provider.paymentsOf(id)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 500));
    const again = await pay(id, c, 'tok_ok');
    if (again.status !== 202)
      throw new Error(`kept-key-looked-up-when-old: pay again answered ${again.status}`);
    await until(id, c, 'IN_PRODUCTION');
    await call('POST', `/v1/orders/${id}/cancel`, { as: c, body: { reason: 'replay' } });
    await until(id, c, 'CANCELLED');
    await client.workflow.getHandle(id).result();
  },
  // The same, with an edit asked for while the pay's key is kept: refused (the stock held is for
  // the lines that charge was made for); the customer cancels, and the charge found is refunded.
  'edit-refused-while-pay-key-kept': async ({ created }) => {
    const { sku, c, id } = await oneOrder(created, { stock: 10, inventoryStrategy: 'on_payment' }, 1);
    const lost = await pay(id, c, 'tok_lost_unlisted');
    if (lost.status !== 503) throw new Error(`edit-refused-while-pay-key-kept: pay answered ${lost.status}`);
    const edit = await call('POST', `/v1/orders/${id}/edits`, {
      as: c,
      body: { change: [{ sku, quantity: 2 }] },
    });
    const confirmed = await call('POST', `/v1/order-edits/${edit.body.edit.id}/confirm`, { as: c, body: {} });
    if (confirmed.status !== 409)
      throw new Error(`edit-refused-while-pay-key-kept: confirm answered ${confirmed.status}`);
    await call('POST', `/v1/orders/${id}/cancel`, { as: c, body: { reason: 'replay' } });
    await until(id, c, 'CANCELLED');
    await waitForOrder(id, c, (o) => o.amounts.refunded > 0, 60_000);
  },
  // A bank transfer the provider settles later (webhook), then one that succeeds after its order
  // was cancelled (refunded at once), then a 3-D Secure step never finished (given up, expired).
  'payments-pending': async ({ created }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, { stock: 10 });
    const c = customer();
    const paid = await newOrder(c, [{ sku, quantity: 1 }]);
    created(paid);
    await pay(paid, c, 'tok_async_ok');
    await until(paid, c, 'IN_PRODUCTION');
    await call('POST', `/v1/orders/${paid}/cancel`, { as: c, body: { reason: 'replay' } });
    await until(paid, c, 'CANCELLED');
    const late = await newOrder(c, [{ sku, quantity: 1 }]);
    created(late);
    await pay(late, c, 'tok_async_ok');
    await call('POST', `/v1/orders/${late}/cancel`, { as: c, body: { reason: 'replay' } });
    await waitForOrder(late, c, (o) => o.amounts.refunded > 0, 30_000);
    const abandoned = await newOrder(c, [{ sku, quantity: 1 }]);
    created(abandoned);
    await pay(abandoned, c, 'tok_3ds');
    await until(abandoned, c, 'CANCELLED');
  },
  // Pending steps given up: an edit's 3-D Secure step never finished (its units given back, the
  // order shipped); a redirect payment finished just before its step was given up (waited for, then
  // refunded: the order had expired); each asked about less and less often meanwhile.
  'pending-steps-given-up': async ({ created }) => {
    const edited = await oneOrder(created, { stock: 10, price: 1000 }, 1);
    const other = uniqueSku('hg');
    await putProduct(other, { stock: 10, price: 700 });
    await pay(edited.id, edited.c);
    await until(edited.id, edited.c, 'IN_PRODUCTION');
    const edit = (
      await call('POST', `/v1/orders/${edited.id}/edits`, {
        as: edited.c,
        body: { add: [{ sku: other, quantity: 1 }] },
      })
    ).body.edit.id as string;
    await call('POST', `/v1/order-edits/${edit}/confirm`, {
      as: edited.c,
      body: { paymentToken: 'tok_3ds' },
    });
    await waitForOrder(
      edited.id,
      edited.c,
      (o) => o.payments.length === 2 && o.payments[1].status === 'failed',
      30_000,
    );
    await ship(edited.id);
    await call('POST', `/v1/orders/${edited.id}/confirm`, { as: edited.c, body: {} });
    await until(edited.id, edited.c, 'COMPLETED');
    // Finished 1.2 s before the grace ends (2 s timeout, 3 s grace); the bank decides 2 s later.
    const late = await oneOrder(created, { stock: 10, price: 1000 }, 1);
    const started = (await pay(late.id, late.c, 'tok_3ds_async')).body;
    const { paymentDeadline } = (await call('GET', `/v1/orders/${late.id}`, { as: late.c })).body.order;
    await sleep(Math.max(0, Date.parse(paymentDeadline) + 1800 - Date.now()));
    const still = (await call('GET', `/v1/orders/${late.id}`, { as: late.c })).body.order.payments[0];
    if (still?.status !== 'requires_action')
      throw new Error('pending-steps-given-up: the step was given up first');
    await fetch(started.payment.nextAction.redirectUrl, { method: 'POST' });
    await waitForOrder(late.id, late.c, (o) => o.status === 'CANCELLED' && o.amounts.refunded > 0, 30_000);
  },
  // A full refund of a virtual order voids its code and releases what it held (issue 19).
  'virtual-refunded-in-full': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10, kind: 'virtual' }, 1, 'virtual');
    await pay(id, c);
    await until(id, c, 'DELIVERED');
    await call('POST', `/v1/orders/${id}/refunds`, { as: merchant, body: { reason: 'replay' } });
    await until(id, c, 'REFUNDED');
  },
  // A full refund whose code the vendor will not void: recorded all the same, support told.
  'virtual-refunded-code-kept': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10, kind: 'virtual' }, 1, 'virtual');
    await pay(id, c);
    await until(id, c, 'DELIVERED');
    await fetch(`${process.env.WAREHOUSE_URL}/v1/sandbox/codes/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refuse: true }),
    });
    await call('POST', `/v1/orders/${id}/refunds`, { as: merchant, body: { reason: 'replay' } });
    await until(id, c, 'REFUNDED');
  },
  // The code vendor refuses, then issues: the order waits, flagged, and is delivered (patched 'vendor-refusal-waits').
  'virtual-code-refused-then-issued': async ({ created }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, { kind: 'virtual', stock: 10 });
    const c = customer();
    const id = await newOrder(c, [{ sku, quantity: 1 }], 'virtual');
    created(id);
    const vendor = (refuse: boolean) =>
      fetch(`${process.env.WAREHOUSE_URL}/v1/sandbox/codes/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refuse }),
      });
    await vendor(true);
    await pay(id, c);
    await waitForOrder(
      id,
      c,
      (o) => o.history.some((h: { action: string }) => h.action === 'deliver_failed'),
      30_000,
    );
    await vendor(false);
    await until(id, c, 'COMPLETED');
  },
  'virtual-completed': async ({ created }) => {
    const { c, id } = await oneOrder(created, { stock: 10, kind: 'virtual' }, 1, 'virtual');
    await pay(id, c);
    await until(id, c, 'COMPLETED');
  },
  'presale-modified-then-cancelled': async ({ created }) => {
    const sku = uniqueSku('h');
    const hour = 3_600_000;
    await putProduct(sku, {
      stock: 10,
      presale: {
        depositPerUnit: 400,
        balanceStartsAt: new Date(Date.now() + hour).toISOString(),
        balanceEndsAt: new Date(Date.now() + 2 * hour).toISOString(),
      },
    });
    const c = customer();
    const id = await newOrder(c, [{ sku, quantity: 3 }], 'presale');
    created(id);
    await pay(id, c);
    // Twice: the second refunds only what the deposit then exceeds (patched 'modify-net-of-refunds').
    await call('PATCH', `/v1/orders/${id}`, { as: c, body: { items: [{ sku, quantity: 2 }] } });
    await call('PATCH', `/v1/orders/${id}`, { as: c, body: { items: [{ sku, quantity: 1 }] } });
    await call('POST', `/v1/orders/${id}/cancel`, { as: merchant, body: { reason: 'replay' } });
    await until(id, c, 'CANCELLED');
  },
  'presale-completed-and-forfeited': async ({ created }) => {
    const open = uniqueSku('h');
    const now = Date.now();
    await putProduct(open, {
      stock: 10,
      presale: {
        depositPerUnit: 300,
        balanceStartsAt: new Date(now + 1500).toISOString(),
        balanceEndsAt: new Date(now + 6000).toISOString(),
      },
    });
    const [a, b] = [customer(), customer()];
    const paid = await newOrder(a, [{ sku: open, quantity: 1 }], 'presale');
    const forfeited = await newOrder(b, [{ sku: open, quantity: 1 }], 'presale');
    created(paid);
    created(forfeited);
    await pay(paid, a);
    await pay(forfeited, b);
    await until(paid, a, 'PENDING_BALANCE');
    await pay(paid, a);
    await until(paid, a, 'IN_PRODUCTION');
    await ship(paid);
    await until(paid, a, 'COMPLETED');
    await until(forfeited, b, 'CANCELLED');
  },
  // A deposit whose every answer was lost, not listed yet: a 503, its key kept
  // (presale-charges-keep-unshown-key); the order expires, finds the charge once shown, refunds it.
  'presale-deposit-unshown-refunded': async ({ created }) => {
    const { c, id } = await presaleOrder(created);
    const lost = await pay(id, c, 'tok_lost_unlisted');
    if (lost.status !== 503) throw new Error(`presale-deposit-unshown-refunded: pay answered ${lost.status}`);
    await until(id, c, 'CANCELLED');
    await waitForOrder(id, c, (o) => o.amounts.refunded > 0, 60_000);
  },
  // A deposit told 503 whose charge the customer's cancel finds (once listed): that cancel a 409,
  // the charge pays the deposit, and the cancel asked again gives it back
  // (cancel-before-found-deposit-refunds).
  'presale-deposit-found-by-cancel': async ({ created, client }) => {
    const { c, id } = await presaleOrder(created, 3_600_000, undefined, '90s');
    const lost = await pay(id, c, 'tok_lost_unlisted');
    if (lost.status !== 503) throw new Error(`presale-deposit-found-by-cancel: pay answered ${lost.status}`);
    const provider = new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!);
    for (let i = 0; i < 60 && (await provider.paymentsOf(id)).length === 0; i++) await sleep(500);
    const cancel = () => call('POST', `/v1/orders/${id}/cancel`, { as: c, body: {} });
    const refused = await cancel();
    if (refused.status !== 409 || !/answer was lost/.test(refused.body.detail))
      throw new Error(`presale-deposit-found-by-cancel: cancel ${refused.status}`);
    await waitForOrder(id, c, (o) => o.amounts.paid > 0, 30_000);
    const again = await cancel();
    if (again.status !== 200 || again.body.order.amounts.refunded === 0)
      throw new Error(`presale-deposit-found-by-cancel: cancel again ${again.status}`);
    await client.workflow.getHandle(id).result();
  },
  // A balance whose every answer was lost, not listed when its window ends (11 s): the deposit is
  // refunded, not kept (kept-balance-key-spares-deposit), and the balance once its charge shows.
  'presale-balance-unshown-at-window-end': async ({ created }) => {
    const { c, id } = await presaleOrder(created, 11_000);
    await pay(id, c);
    await until(id, c, 'PENDING_BALANCE');
    const lost = await pay(id, c, 'tok_lost_unlisted');
    if (lost.status !== 503)
      throw new Error(`presale-balance-unshown-at-window-end: pay answered ${lost.status}`);
    await waitForOrder(id, c, (o) => o.amounts.refunded === o.amounts.total, 60_000);
  },
  // A deposit's pay Update lost after its charge (tok_lost_unlisted: not listed yet), then the
  // customer's deposit under that key: refused as its reuse, a 503, the key and the pay-time stock
  // kept (presale-charges-keep-unshown-key); the order expires, finds the charge once shown, refunds it.
  'presale-deposit-key-reused-unshown': async ({ created }) => {
    const { c, id } = await presaleOrder(created, 3_600_000, 'on_payment');
    await chargeLost(id, c, { amount: 300, token: 'tok_lost_unlisted' }).catch(() => undefined);
    const refused = await pay(id, c, 'tok_ok');
    if (refused.status !== 503)
      throw new Error(`presale-deposit-key-reused-unshown: pay answered ${refused.status}`);
    await until(id, c, 'CANCELLED');
    await waitForOrder(id, c, (o) => o.amounts.refunded > 0, 60_000);
  },
  // A deposit by bank transfer that settles (2 s) after the balance window closed (1.5 s): the
  // balance expires at once, and the deposit is given back (patched 'presale-deposit-fair-chance').
  'presale-late-deposit-refunded': async ({ created }) => {
    const sku = uniqueSku('h');
    await putProduct(sku, {
      stock: 10,
      presale: {
        depositPerUnit: 300,
        balanceStartsAt: new Date(Date.now() - 60_000).toISOString(),
        balanceEndsAt: new Date(Date.now() + 1500).toISOString(),
      },
    });
    const c = customer();
    const id = await newOrder(c, [{ sku, quantity: 1 }], 'presale');
    created(id);
    await pay(id, c, 'tok_async_ok');
    await until(id, c, 'CANCELLED');
  },
};

async function main() {
  const { dataDir, env: isolated } = await isolatedStackEnv('record');
  const env: NodeJS.ProcessEnv = {
    ...isolated,
    AUTH_JWT_SECRET: TEST_SECRET,
    PAYMENT_TIMEOUT: '2s',
    PAYMENT_PENDING_GRACE: '3s',
    PAYMENT_PENDING_POLL: '1s',
    AUTO_CONFIRM_AFTER: '2s',
    AFTER_SALES_WINDOW: '3s',
    VIRTUAL_AFTER_SALES_WINDOW: '1s',
    // A code the vendor refused is asked for again this soon (virtual-code-refused-then-issued).
    CODE_VENDOR_RETRY: '1s',
    // tok_short_auth's holds, renewed 3 s before they end (capture-at-shipment).
    PAYMENT_SANDBOX_SHORT_AUTH: '6s',
    // tok_reauth_slow's renewals answer after the payment activity's tries end (about 14 s).
    PAYMENT_SANDBOX_SLOW: '18s',
    // tok_lost_unlisted's charge is out of the provider's list this long (payment-unshown-refunded).
    PAYMENT_SANDBOX_UNLISTED: '15s',
    // A kept charge key older than this is looked up before it is asked again (kept-key-looked-up-when-old).
    PAYMENT_KEY_MEMORY: '5s',
    // An order held for review and left alone is rejected after this (review-hold).
    REVIEW_TIMEOUT: '4s',
    // A return undecided, or approved and never sent, closes after these (return-windows).
    RETURN_DECISION_WINDOW: '2s',
    RETURN_SHIP_WINDOW: '2s',
    WAREHOUSE_SANDBOX_STEP: '300ms',
  };
  Object.assign(process.env, env);
  const stack = await startStack({
    config: loadConfig(process.env),
    env,
    headless: true,
    log: () => undefined,
  });
  process.env.TEST_API_URL = stack.apiUrl;
  process.env.PAYMENT_PROVIDER_URL = stack.paymentProviderUrl;
  process.env.WAREHOUSE_URL = stack.warehouseUrl;
  const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH);
  if (!cli) throw new Error('the Temporal CLI is needed to export histories');
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  try {
    mkdirSync(OUT, { recursive: true });
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (only && !only.has(name)) continue;
      const roots: string[] = [];
      await scenario({ created: (id) => roots.push(id), client });
      // The scenario's workflows: its orders and their children (ids start with the order id, or are returns of it).
      const ids = new Set<string>();
      for (const root of roots) {
        for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH '${root}'` }))
          ids.add(wf.workflowId);
        for await (const wf of client.workflow.list({
          query: `WorkflowType = 'returnOrderFlow' OR WorkflowType = 'claimOrderFlow' OR WorkflowType = 'exchangeOrderFlow'`,
        })) {
          const parent = (await client.workflow.getHandle(wf.workflowId).describe()).raw.workflowExecutionInfo
            ?.parentExecution?.workflowId;
          if (parent === root) ids.add(wf.workflowId);
        }
      }
      for (const id of ids) {
        const description = await client.workflow.getHandle(id).describe();
        if (description.status.name === 'RUNNING') throw new Error(`${name}: ${id} still running`);
        // Ids may hold `:` (a fulfilment's): not in file names.
        const file = path.join(OUT, `${tag}--${name}--${description.type}--${id.replace(/:/g, '_')}.json`);
        // The CLI writes the proto-JSON that historyFromJSON (and the Web UI's download) reads.
        const json = execFileSync(
          cli,
          ['workflow', 'show', '--address', stack.temporalAddress, '--workflow-id', id, '--output', 'json'],
          {
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          },
        );
        writeFileSync(file, `${JSON.stringify(JSON.parse(json), null, 1)}\n`);
        console.log(`recorded ${path.relative(process.cwd(), file)}`);
      }
    }
  } finally {
    await connection.close();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
