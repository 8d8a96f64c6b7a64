/**
 * Issue 17, defence in depth: input that never went through the API (a script, another service,
 * an operator with the CLI) reaches the workflow and its activities. The workflow refuses what
 * cannot be stored, an activity's data error is a clean non-retryable refusal, and the worker
 * stays up through all of it: one request must never stop every customer's orders.
 */
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { dataConverterFor } from '../../codec/data-converter';
import { loadConfig } from '../../config';
import { FailureType } from '../../domain/errors';
import { storable } from '../../domain/text';
import type { ActionRequest } from '../../domain/order';
import { HttpPaymentProvider } from '../../services/payment/http-provider';
import { WORKFLOW_SOURCES } from '../../worker/create-worker';
import {
  createOrderUpdate,
  orderActionUpdate,
  ORDER_WORKFLOW_TYPE,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
} from '../../workflows/messages';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { acceptedUpdates } from '../support/history';
import { testDb, testTemporal } from '../support/backends';
import { startOwnServices, workerPids, type OwnServices } from '../support/own-services';

const db = testDb();
let services: OwnServices;
let temporal: { client: Client; close: () => Promise<void> };
beforeAll(async () => {
  services = await startOwnServices('poison');
  temporal = await testTemporal();
}, 90_000);
afterAll(async () => {
  await temporal?.close();
  await services?.stopAll();
  await db.destroy();
});

const policy = { paymentTimeoutMs: 600_000, autoConfirmAfterMs: 600_000, afterSalesWindowMs: 2_000 };
const refusalOf = (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure ? err.cause : undefined;

test('a poisoned start, poisoned Updates and poisoned activity input: refused, and the worker stays up', async () => {
  const queue = services.env.TASK_QUEUE!;
  const workersBefore = await workerPids(queue);
  expect(workersBefore).toHaveLength(1);
  const sku = uniqueSku('poison');
  await putProduct(sku, { stock: 10, price: 700 }, services.apiUrl);

  // 1. Started directly, with what once took every worker down: a lone surrogate in the coupon.
  for (const poison of [
    { couponCode: '\ud800' },
    { shippingAddress: { name: 'A\u0000', line1: 'x', city: 'y', postalCode: '1', country: 'NL' } },
    { customerId: 'cus\ud800' },
    { type: 'nonsense' },
  ]) {
    const orderId = `ord_poison_${randomUUID().slice(0, 8)}`;
    const input = {
      orderId,
      type: 'standard',
      customerId: 'cus_poison',
      items: [{ sku, quantity: 1 }],
      policy,
      ...poison,
    } as OrderWorkflowInput;
    const start = new WithStartWorkflowOperation<(i: OrderWorkflowInput) => Promise<OrderWorkflowResult>>(
      ORDER_WORKFLOW_TYPE,
      { workflowId: orderId, taskQueue: queue, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' },
    );
    const err = await temporal.client.workflow
      .executeUpdateWithStart(createOrderUpdate, { startWorkflowOperation: start, updateId: 'create' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const refusal = refusalOf(err);
    expect({ poison, type: refusal?.type }).toEqual({ poison, type: FailureType.InvalidInput });
    expect(refusal?.message).toBe(storable(refusal?.message ?? ''));
    const handle = temporal.client.workflow.getHandle(orderId);
    expect(await handle.result()).toEqual({ orderId, status: 'REJECTED' });
    expect(await db('orders').where({ id: orderId })).toHaveLength(0);
    // The refusal is a recorded branch (patched): its history replays on this code.
    await Worker.runReplayHistory(
      { ...WORKFLOW_SOURCES, dataConverter: dataConverterFor(loadConfig(process.env)) },
      await handle.fetchHistory(),
      orderId,
    );
  }

  // 2. A real order, then Updates sent around the API: the validator refuses them, without a trace.
  const who = customer();
  const id = (
    await call('POST', '/v1/orders', {
      as: who,
      baseUrl: services.apiUrl,
      body: { items: [{ sku, quantity: 2 }] },
    })
  ).body.order.id as string;
  const handle = temporal.client.workflow.getHandle(id);
  const updatesBefore = await acceptedUpdates(handle);
  const actor = { id: who.id, role: 'customer' as const };
  for (const [request, field] of [
    [{ action: 'cancel', actor, reason: 'bye\u0000' }, 'reason'],
    [{ action: 'cancel', actor, reason: 'bye\ud800' }, 'reason'],
    [{ action: '\ud800', actor }, 'action'],
    [{ action: 'pay', actor: { id: 'x\u0000', role: 'customer' }, paymentToken: 'tok_ok' }, 'actor.id'],
    [{ action: 'pay', actor, paymentToken: 'tok_ok\ud800' }, 'paymentToken'],
    [
      {
        action: 'ship',
        actor: { id: 'm1', role: 'merchant' },
        shipment: { carrier: '\ud800', trackingNumber: '1' },
      },
      'shipment.carrier',
    ],
  ] as [ActionRequest, string][]) {
    const refusal = refusalOf(
      await handle.executeUpdate(orderActionUpdate, { args: [request] }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect({ field, type: refusal?.type, details: refusal?.details }).toEqual({
      field,
      type: FailureType.InvalidInput,
      details: [{ field }],
    });
  }
  expect(await acceptedUpdates(handle)).toEqual(updatesBefore);
  const order = (await call('GET', `/v1/orders/${id}`, { as: who, baseUrl: services.apiUrl })).body.order;
  expect(order.status).toBe('PENDING_PAYMENT');
  expect(order.allowedActions).toContain('pay');

  // 3. The activities themselves, handed data PostgreSQL refuses: a non-retryable refusal, no SQL.
  const activities = createActivities({
    db,
    payments: new HttpPaymentProvider(process.env.PAYMENT_PROVIDER_URL!),
    defaultInventoryStrategy: 'on_order',
  });
  const entry = {
    seq: 99,
    from: 'PENDING_PAYMENT',
    action: 'cancel',
    to: 'CANCELLED',
    actor: 'system',
    at: new Date().toISOString(),
    reason: 'x\u0000',
  };
  const dataError = await activities
    .recordTransition({ orderId: id, entry, snapshot: { ...order, status: 'CANCELLED' } })
    .then(
      () => undefined,
      (e: unknown) => e as ApplicationFailure,
    );
  expect(dataError).toBeInstanceOf(ApplicationFailure);
  expect({ type: dataError!.type, nonRetryable: dataError!.nonRetryable }).toEqual({
    type: FailureType.InvalidData,
    nonRetryable: true,
  });
  expect(dataError!.message).not.toMatch(/insert|update|order_history|select/i);
  const coupon = await activities
    .placeOrder({
      orderId: `ord_direct_${randomUUID().slice(0, 8)}`,
      type: 'standard',
      customerId: 'cus_direct',
      items: [{ sku, quantity: 1 }],
      couponCode: '\ud800',
      policy,
      now: new Date().toISOString(),
    })
    .then(
      () => undefined,
      (e: unknown) => e as ApplicationFailure,
    );
  expect({ type: coupon?.type, nonRetryable: coupon?.nonRetryable, message: coupon?.message }).toEqual({
    type: FailureType.Business,
    nonRetryable: true,
    message: 'there is no such coupon',
  });
  expect(await db('order_history').where({ order_id: id, seq: 99 })).toHaveLength(0);

  // 4. The same worker process, never restarted, still runs orders to the end.
  const paid = await call('POST', `/v1/orders/${id}/pay`, {
    as: who,
    baseUrl: services.apiUrl,
    body: { paymentToken: 'tok_ok' },
  });
  expect(paid.status).toBe(200);
  await waitForOrder(id, who, (o) => o.status === 'IN_PRODUCTION', 20_000, services.apiUrl);
  expect(
    (
      await call('POST', `/v1/orders/${id}/ship`, {
        as: merchant,
        baseUrl: services.apiUrl,
        body: { carrier: 'UPS', trackingNumber: '1Z' },
      })
    ).status,
  ).toBe(200);
  expect(
    (await call('POST', `/v1/orders/${id}/confirm`, { as: who, baseUrl: services.apiUrl, body: {} })).status,
  ).toBe(200);
  await waitForOrder(id, who, (o) => o.status === 'COMPLETED', 30_000, services.apiUrl);
  expect(await workerPids(queue)).toEqual(workersBefore);
}, 120_000);
