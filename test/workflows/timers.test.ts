/**
 * Issue 6: the durable timers at their real default durations (30m, 10d, 7d), on the official
 * time-skipping test server, with the real activities against the test PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { loadConfig } from '../../config';
import { registerSearchAttributes } from '../../devstack/search-attributes';
import { findTemporalBinary } from '../../devstack/temporal';
import type { ActionRequest, OrderPolicy } from '../../domain/order';
import { auditStock } from '../../services/inventory/audit';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import {
  createOrderUpdate,
  orderActionUpdate,
  orderStateQuery,
  type OrderWorkflowInput,
} from '../../workflows/messages';
import { orderWorkflow } from '../../workflows/order/order-workflow';
import {
  exchangeActionUpdate,
  returnActionUpdate,
  type ExchangeRecord,
  type ReturnRecord,
} from '../../workflows/reverse/messages';
import { call, merchant, putProduct, uniqueSku } from '../support/api';
import { testDb } from '../support/backends';

const db = testDb();
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `timers-${randomUUID().slice(0, 6)}`;

// The defaults of the configuration table, as a deployment without overrides has them.
const defaults = loadConfig({});
const policy: OrderPolicy = {
  paymentTimeoutMs: defaults.PAYMENT_TIMEOUT,
  autoConfirmAfterMs: defaults.AUTO_CONFIRM_AFTER,
  afterSalesWindowMs: defaults.AFTER_SALES_WINDOW,
};
const MINUTE = 60_000;
/** Returns whose receive is saved 3 s late, once. */
const slowReceive = new Set<string>();
const DAY = 86_400_000;

beforeAll(async () => {
  const path = findTemporalBinary('temporal-test-server');
  if (!path) throw new Error('temporal-test-server not found: npm test installs it (scripts/setup.sh)');
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  const activities = createActivities({
    db,
    payments: new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!),
    defaultInventoryStrategy: 'on_order',
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: {
      ...activities,
      // A database slow to take one step (a receive's save, retried after a blip), as a test asks.
      async saveReturn(record: ReturnRecord) {
        if (record.status === 'RECEIVED' && slowReceive.delete(record.id))
          await new Promise((r) => setTimeout(r, 3000));
        return activities.saveReturn(record);
      },
    },
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await db.destroy();
});

async function startOrder(
  sku: string,
  quantity: number,
  couponCode?: string,
  rules: Partial<OrderPolicy> = {},
) {
  const orderId = `ord_ts_${randomUUID().slice(0, 8)}`;
  const input: OrderWorkflowInput = {
    orderId,
    type: 'standard',
    customerId: 'cus-ts',
    items: [{ sku, quantity }],
    policy: { ...policy, ...rules },
    couponCode,
  };
  const handle = await env.client.workflow.start(orderWorkflow, {
    workflowId: orderId,
    taskQueue,
    args: [input],
  });
  const placed = await handle.executeUpdate(createOrderUpdate);
  return { handle, placed };
}

const actor = (role: 'customer' | 'merchant') => ({ id: `${role}-ts`, role });

/** Pays, ships and confirms an order (its after-sales window open); answers its action sender. */
async function receivedOrder(handle: Awaited<ReturnType<typeof startOrder>>['handle']) {
  const act = (request: ActionRequest) => handle.executeUpdate(orderActionUpdate, { args: [request] });
  await act({ action: 'pay', actor: actor('customer'), paymentToken: 'tok_ok' });
  for (let i = 0; i < 100 && (await handle.query(orderStateQuery))!.status !== 'IN_PRODUCTION'; i++)
    await new Promise((r) => setTimeout(r, 100));
  await act({ action: 'ship', actor: actor('merchant'), shipment: { carrier: 'UPS', trackingNumber: '1Z' } });
  await act({ action: 'confirm', actor: actor('customer') });
  return act;
}

test('an order left unpaid for its 30 minutes is cancelled, and its stock and coupon are back', async () => {
  const sku = uniqueSku('ts-unpaid');
  await putProduct(sku, { stock: 5 });
  const coupon = `TS-${randomUUID().slice(0, 8)}`;
  expect(
    (
      await call('PUT', `/v1/promotions/${coupon}`, {
        as: merchant,
        body: { kind: 'fixed', value: 100, maxUses: 1 },
      })
    ).status,
  ).toBe(201);
  const { handle, placed } = await startOrder(sku, 2, coupon);
  expect(placed.amounts.discount).toBe(100);
  expect((await call('GET', `/v1/promotions/${coupon}`, { as: merchant })).body.used).toBe(1);
  expect(Date.parse(placed.paymentDeadline) - Date.parse(placed.createdAt)).toBe(30 * MINUTE);
  expect((await auditStock(db, [sku]))[0]).toMatchObject({ reserved: 2 });

  await env.sleep(29 * MINUTE);
  expect((await handle.query(orderStateQuery))!.status).toBe('PENDING_PAYMENT');

  expect(await handle.result()).toEqual({ orderId: placed.id, status: 'CANCELLED' });
  const order = (await handle.query(orderStateQuery))!;
  const last = order.history.at(-1)!;
  expect(last).toMatchObject({
    from: 'PENDING_PAYMENT',
    action: 'expire',
    to: 'CANCELLED',
    actor: 'system',
    reason: 'payment_timeout',
  });
  expect(Date.parse(last.at) - Date.parse(order.createdAt)).toBeGreaterThanOrEqual(30 * MINUTE);
  expect((await auditStock(db, [sku]))[0]).toMatchObject({ onHand: 5, reserved: 0, balanced: true });
  expect(await db('orders').where({ id: placed.id }).first('status')).toEqual({ status: 'CANCELLED' });
  expect((await call('GET', `/v1/promotions/${coupon}`, { as: merchant })).body.used).toBe(0);
  expect(await db('coupon_uses').where({ order_id: placed.id }).pluck('state')).toEqual(['released']);
}, 60_000);

test('a shipped order is confirmed after 10 days and completed 7 days later', async () => {
  const sku = uniqueSku('ts-ship');
  await putProduct(sku, { stock: 5 });
  const { handle, placed } = await startOrder(sku, 1);
  await handle.executeUpdate(orderActionUpdate, {
    args: [{ action: 'pay', actor: actor('customer'), paymentToken: 'tok_ok' }],
  });
  // Production starts on its own right after payment.
  for (let i = 0; i < 100 && (await handle.query(orderStateQuery))!.status !== 'IN_PRODUCTION'; i++)
    await new Promise((r) => setTimeout(r, 100));
  await handle.executeUpdate(orderActionUpdate, {
    args: [{ action: 'ship', actor: actor('merchant'), shipment: { carrier: 'UPS', trackingNumber: '1Z' } }],
  });

  expect(await handle.result()).toEqual({ orderId: placed.id, status: 'COMPLETED' });
  const { history } = (await handle.query(orderStateQuery))!;
  const at = (action: string) => Date.parse(history.find((h) => h.action === action)!.at);
  expect(history.map((h) => [h.action, h.actor, h.reason ?? null])).toEqual([
    ['place', 'customer:cus-ts', null],
    ['pay', 'customer:customer-ts', null],
    ['start_production', 'system', null],
    ['ship', 'merchant:merchant-ts', null],
    ['confirm', 'system', 'auto_confirmed'],
    ['complete', 'system', 'after_sales_window_closed'],
  ]);
  expect(at('confirm') - at('ship')).toBeGreaterThanOrEqual(10 * DAY);
  expect(at('confirm') - at('ship')).toBeLessThan(10 * DAY + MINUTE);
  expect(at('complete') - at('confirm')).toBeGreaterThanOrEqual(7 * DAY);
  expect(at('complete') - at('confirm')).toBeLessThan(7 * DAY + MINUTE);
  expect(await db('orders').where({ id: placed.id }).first('status')).toEqual({ status: 'COMPLETED' });
}, 60_000);

test('returns at their default windows: undecided, escalated after 3 days and closed after 6; approved goods never sent, closed after 14; then the order completes', async () => {
  const sku = uniqueSku('ts-ret');
  await putProduct(sku, { stock: 5 });
  const { handle, placed } = await startOrder(sku, 2, undefined, {
    returnDecisionWindowMs: defaults.RETURN_DECISION_WINDOW,
    returnShipWindowMs: defaults.RETURN_SHIP_WINDOW,
  });
  const act = await receivedOrder(handle);
  const [undecided, approved] = [`ret_ts_${randomUUID().slice(0, 8)}`, `ret_ts_${randomUUID().slice(0, 8)}`];
  for (const returnId of [undecided, approved])
    await act({
      action: 'request_return',
      actor: actor('customer'),
      reason: 'ts',
      returnRequest: { returnId, items: [{ sku, quantity: 1 }] },
    });
  await env.client.workflow
    .getHandle(approved)
    .executeUpdate(returnActionUpdate, { args: [{ action: 'approve', actor: actor('merchant') }] });

  expect(await handle.result()).toEqual({ orderId: placed.id, status: 'COMPLETED' });
  const first = (await env.client.workflow.getHandle(undecided).result()) as ReturnRecord;
  const second = (await env.client.workflow.getHandle(approved).result()) as ReturnRecord;
  const at = (r: ReturnRecord, action: string) => Date.parse(r.history.find((h) => h.action === action)!.at);
  expect(first.history.map((h) => [h.action, h.to])).toEqual([
    ['request', 'REQUESTED'],
    ['escalate', 'ESCALATED'],
    ['close', 'CLOSED'],
  ]);
  expect(at(first, 'escalate') - at(first, 'request')).toBeGreaterThanOrEqual(3 * DAY);
  expect(at(first, 'escalate') - at(first, 'request')).toBeLessThan(3 * DAY + MINUTE);
  expect(at(first, 'close') - at(first, 'escalate')).toBeGreaterThanOrEqual(3 * DAY);
  expect(second.history.map((h) => [h.action, h.to])).toEqual([
    ['request', 'REQUESTED'],
    ['approve', 'APPROVED'],
    ['close', 'CLOSED'],
  ]);
  expect(at(second, 'close') - at(second, 'approve')).toBeGreaterThanOrEqual(14 * DAY);
  expect(at(second, 'close') - at(second, 'approve')).toBeLessThan(14 * DAY + MINUTE);
  // The after-sales window (7 days) had closed long before: the order completed once the last return did.
  const { history } = (await handle.query(orderStateQuery))!;
  const completed = Date.parse(history.at(-1)!.at);
  expect(history.at(-1)).toMatchObject({ action: 'complete', to: 'COMPLETED' });
  expect(completed - at(second, 'close')).toBeGreaterThanOrEqual(0);
  expect(completed - at(second, 'close')).toBeLessThan(MINUTE);
  expect((await handle.query(orderStateQuery))!.amounts.refunded).toBe(0);
}, 60_000);

test('exchanges at the return windows: undecided, cancelled after 3 days (its unit back to the order); shipped with goods never sent, closed after 14; then the order completes', async () => {
  const sku = uniqueSku('ts-exc');
  await putProduct(sku, { stock: 6 });
  const { handle, placed } = await startOrder(sku, 2, undefined, {
    returnDecisionWindowMs: defaults.RETURN_DECISION_WINDOW,
    returnShipWindowMs: defaults.RETURN_SHIP_WINDOW,
  });
  const act = await receivedOrder(handle);
  // One unit for another of the same product: nothing to pay either way.
  const [undecided, unsent] = [`exc_ts_${randomUUID().slice(0, 8)}`, `exc_ts_${randomUUID().slice(0, 8)}`];
  for (const exchangeId of [undecided, unsent])
    await act({
      action: 'open_exchange',
      actor: actor('customer'),
      reason: 'ts',
      exchangeRequest: {
        exchangeId,
        returnItems: [{ sku, quantity: 1 }],
        newItems: [{ sku, quantity: 1 }],
      },
    });
  const staff = (action: 'approve' | 'ship', extra: object = {}) =>
    env.client.workflow
      .getHandle(unsent)
      .executeUpdate(exchangeActionUpdate, { args: [{ action, actor: actor('merchant'), ...extra }] });
  await staff('approve');
  await staff('ship', { shipment: { carrier: 'UPS', trackingNumber: '2Z' } });

  expect(await handle.result()).toEqual({ orderId: placed.id, status: 'COMPLETED' });
  const first = (await env.client.workflow.getHandle(undecided).result()) as ExchangeRecord;
  const second = (await env.client.workflow.getHandle(unsent).result()) as ExchangeRecord;
  const at = (r: ExchangeRecord, action: string) =>
    Date.parse(r.history.find((h) => h.action === action)!.at);
  expect(first.history.map((h) => [h.action, h.to, h.actor])).toEqual([
    ['request', 'REQUESTED', 'customer:customer-ts'],
    ['cancel', 'CANCELLED', 'system'],
  ]);
  expect(at(first, 'cancel') - at(first, 'request')).toBeGreaterThanOrEqual(3 * DAY);
  expect(at(first, 'cancel') - at(first, 'request')).toBeLessThan(3 * DAY + MINUTE);
  expect(second.history.map((h) => [h.action, h.to])).toEqual([
    ['request', 'REQUESTED'],
    ['approve', 'APPROVED'],
    ['ship', 'SHIPPED'],
    ['close', 'UNRETURNED'],
  ]);
  expect(at(second, 'close') - at(second, 'ship')).toBeGreaterThanOrEqual(14 * DAY);
  expect(at(second, 'close') - at(second, 'ship')).toBeLessThan(14 * DAY + MINUTE);
  // The cancelled one's unit is the order's again; the unreturned one's stays credited.
  const order = (await handle.query(orderStateQuery))!;
  expect(order.items[0]).toMatchObject({ quantity: 2, exchangedQuantity: 1 });
  expect(order.history.map((h) => h.action)).toEqual(
    expect.arrayContaining(['open_exchange', 'exchange_ship', 'exchange_revert', 'complete']),
  );
  expect(order.shipments?.map((s) => s.exchangeId ?? null)).toEqual([null, unsent]);
  expect(await auditStock(db, [sku])).toEqual([expect.objectContaining({ balanced: true })]);
}, 60_000);

test('a return’s refund waits for its receive’s save: the receive’s event is written, before the close', async () => {
  const sku = uniqueSku('ts-slow');
  await putProduct(sku, { stock: 5 });
  const { handle, placed } = await startOrder(sku, 1);
  const act = await receivedOrder(handle);
  const returnId = `ret_ts_${randomUUID().slice(0, 8)}`;
  await act({
    action: 'request_return',
    actor: actor('customer'),
    reason: 'ts',
    returnRequest: { returnId, items: [{ sku, quantity: 1 }] },
  });
  const ret = env.client.workflow.getHandle(returnId);
  await ret.executeUpdate(returnActionUpdate, { args: [{ action: 'approve', actor: actor('merchant') }] });
  slowReceive.add(returnId);
  await ret.executeUpdate(returnActionUpdate, { args: [{ action: 'receive', actor: actor('merchant') }] });
  expect(((await ret.result()) as ReturnRecord).status).toBe('REFUNDED');
  const events = await db('order_events')
    .where({ order_id: placed.id })
    .whereLike('type', 'return.%')
    .orderBy('seq')
    .pluck('type');
  expect(events).toEqual(['return.requested', 'return.approved', 'return.received', 'return.closed']);
  expect(await db('returns').where({ id: returnId }).first('status')).toEqual({ status: 'REFUNDED' });
}, 60_000);
