/**
 * An action the order center shows that its workflow lost: a local activity writes the transition
 * before the workflow task that ran it completes, so a worker killed in between leaves PostgreSQL
 * one transition ahead, and the Update that brought the action is gone with the task (the chaos
 * run met it: an order SHIPPED in the order center, IN_PRODUCTION in its workflow, for good). The
 * loss is made here by resetting the workflow to before the ship's task without its Updates, as
 * the dying worker would have left it; the worker sends the action again from the row.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { ActionRequest, OrderState } from '../../domain/order';
import { claimUnsettled, settleAction } from '../../services/orders/unsettled-actions';
import { orderActionUpdate, orderStateQuery } from '../../workflows/messages';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { acceptedUpdates } from '../support/history';
import { testDb, testTemporal } from '../support/backends';

const db = testDb();
let temporal: { client: Client; close: () => Promise<void> };
beforeAll(async () => {
  temporal = await testTemporal();
});
afterAll(async () => {
  await temporal?.close();
  await db.destroy();
});

const rowsOf = (id: string) =>
  db('unsettled_actions').where({ order_id: id }).select('update_id', 'seq', 'request') as Promise<
    { update_id: string; seq: number; request: { action: string } }[]
  >;

/** An order paid and in production; a pay is never kept (its token is not stored). */
async function paidOrder(): Promise<string> {
  const sku = uniqueSku('unsettled');
  await putProduct(sku, { stock: 5, price: 1500 });
  const owner = customer();
  const created = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 1 }] } });
  expect(created.status).toBe(201);
  const id = created.body.order.id as string;
  const paid = await call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken: 'tok_ok' } });
  expect(paid.status).toBe(200);
  await waitForOrder(id, owner, (o) => o.status === 'IN_PRODUCTION');
  expect(await rowsOf(id)).toEqual([]);
  return id;
}

const shipRequest = (): ActionRequest => ({
  action: 'ship',
  actor: { id: merchant.id, role: 'merchant' },
  shipment: { carrier: 'UPS', trackingNumber: `1Z${randomUUID().slice(0, 6)}` },
});

/** A ship whose caller never hears the answer (it went away): sent straight to Temporal. */
async function shipUnheard(id: string): Promise<string> {
  const updateId = randomUUID();
  await temporal.client.workflow
    .getHandle(id)
    .executeUpdate(orderActionUpdate, { args: [shipRequest()], updateId });
  expect(await rowsOf(id)).toEqual([
    { update_id: updateId, seq: expect.any(Number), request: expect.objectContaining({ action: 'ship' }) },
  ]);
  return updateId;
}

/** The workflow as a worker killed after the ship's local activity wrote leaves it: without that task. */
async function loseLastTask(id: string): Promise<void> {
  const handle = temporal.client.workflow.getHandle(id);
  const { events } = await handle.fetchHistory();
  // The task that accepted the last action (the ship): the last one completed before its acceptance.
  let completed: Long | null | undefined;
  let task: typeof completed;
  for (const e of events ?? []) {
    if (e.workflowTaskCompletedEventAttributes) completed = e.eventId;
    if (e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'orderAction')
      task = completed;
  }
  await temporal.client.workflowService.resetWorkflowExecution({
    namespace: temporal.client.options.namespace,
    workflowExecution: { workflowId: id },
    workflowTaskFinishEventId: task,
    reason: 'test: the ship task lost with its worker',
    requestId: randomUUID(),
    resetReapplyExcludeTypes: [proto.api.enums.v1.ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE],
  });
}

/** Every row of these orders settled by the worker (sent again, or only forgotten). */
async function forgotten(ids: string[]): Promise<void> {
  for (const id of ids)
    await until(
      'the action forgotten',
      () => rowsOf(id),
      (r) => r.length === 0,
    );
}

const workflowStatus = async (id: string) =>
  (await temporal.client.workflow.getHandle(id).query(orderStateQuery))?.status as OrderState['status'];

async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a ship no one heard answered is sent again: taken once if the workflow lost it, only forgotten if not', async () => {
  // Lost at once after its write: every worker of the test stack sends again what has gone
  // unanswered for 5 s (test/global-setup.ts).
  const lost = await paidOrder();
  await shipUnheard(lost);
  await loseLastTask(lost);
  expect(await workflowStatus(lost)).toBe('IN_PRODUCTION');
  // The order center still shows what the lost task wrote.
  expect((await db('orders').where({ id: lost }).first('status')).status).toBe('SHIPPED');

  const taken = await paidOrder();
  await shipUnheard(taken);
  const handle = temporal.client.workflow.getHandle(taken);
  const takenHistory = (await handle.fetchHistory()).events!.length;

  // Through the API the answer is heard, and the row goes with it.
  const heard = await paidOrder();
  const asked = Date.now();
  const shipped = await call('POST', `/v1/orders/${heard}/ship`, {
    as: merchant,
    body: { carrier: 'UPS', trackingNumber: '1Z-heard' },
  });
  expect(shipped.status).toBe(200);
  // Deleted by the API once answered (unawaited).
  await until(
    'the heard row gone',
    () => rowsOf(heard),
    (r) => r.length === 0,
    3_000,
  );
  // Before a worker would look at it (unanswered for 5 s): the API's delete, not a worker's.
  expect(Date.now() - asked).toBeLessThan(5_000);

  await until(
    'the lost ship taken',
    () => workflowStatus(lost),
    (s) => s === 'SHIPPED',
  );
  await forgotten([lost, taken]);

  // Taken once, written once: the redone ship found its transition in place.
  for (const id of [lost, taken]) {
    const ships = await db('order_history')
      .where({ order_id: id, action: 'ship' })
      .count<{ n: string }[]>('* as n');
    expect(Number(ships[0]!.n)).toBe(1);
    const events = await db('order_events')
      .where({ order_id: id, type: 'shipment.shipped' })
      .count<{ n: string }[]>('* as n');
    expect(Number(events[0]!.n)).toBe(1);
  }
  expect((await waitForOrder(lost, merchant, (o) => o.status === 'SHIPPED', 10_000)).shipment).toMatchObject({
    carrier: 'UPS',
  });
  // The one the workflow had taken was answered from its history: nothing ran again.
  expect((await acceptedUpdates(handle)).filter((u) => u.name === 'orderAction')).toHaveLength(2);
  expect((await handle.fetchHistory()).events!.length).toBe(takenHistory);
}, 180_000);

test("an order's unanswered actions are claimed one at a time, the earliest first", async () => {
  const orderId = `ord_claims_${randomUUID().slice(0, 8)}`;
  const request = shipRequest();
  await db('unsettled_actions').insert(
    [5, 6].map((seq) => ({
      order_id: orderId,
      update_id: `upd_${seq}`,
      seq,
      request,
      send_id: `upd_${seq}`,
    })),
  );
  // Due for this claim at once (the workers of the stack wait 5 s): only this order's rows counted.
  const claim = async () =>
    (await claimUnsettled(db, { unansweredMs: -3_600_000, leaseMs: 60_000, limit: 1000 }))
      .filter((r) => r.orderId === orderId)
      .map((r) => r.seq);
  try {
    expect(await claim()).toEqual([5]);
    // The earliest is out on its lease, and the next waits for it to be settled.
    expect(await claim()).toEqual([]);
    await settleAction(db, orderId, 'upd_5');
    expect(await claim()).toEqual([6]);
  } finally {
    await db('unsettled_actions').where({ order_id: orderId }).delete();
  }
});

test('an action sent again where its workflow holds a transition is refused there: its own, or one that overtook it', async () => {
  // Shipped through the API, answered. Each order gets a row as if an answer had been lost, under
  // an id Temporal never saw: the ship itself (a client's retry under another id took it), and a
  // confirm the ship overtook in its place.
  const [taken, overtaken] = [await paidOrder(), await paidOrder()];
  for (const id of [taken, overtaken]) {
    const shipped = await call('POST', `/v1/orders/${id}/ship`, {
      as: merchant,
      body: { carrier: 'UPS', trackingNumber: `1Z-${id.slice(-6)}` },
    });
    expect(shipped.status).toBe(200);
  }
  const placeOf = async (id: string) =>
    (await db('order_history').where({ order_id: id, action: 'ship' }).first('seq')).seq as number;
  const { customer_id: owner } = await db('orders').where({ id: overtaken }).first('customer_id');
  const confirm: ActionRequest = {
    action: 'confirm',
    actor: { id: owner, role: 'customer' },
    reason: 'lost',
  };
  for (const [id, request] of [
    [taken, shipRequest()],
    [overtaken, confirm],
  ] as const) {
    const updateId = `upd_unseen_${randomUUID().slice(0, 8)}`;
    await db('unsettled_actions').insert({
      order_id: id,
      update_id: updateId,
      seq: await placeOf(id),
      request,
      send_id: updateId,
    });
  }
  await forgotten([taken, overtaken]);
  for (const id of [taken, overtaken]) {
    // Refused by the workflow's validator: nothing accepted, nothing written beyond the one ship.
    const handle = temporal.client.workflow.getHandle(id);
    expect((await acceptedUpdates(handle)).filter((u) => u.name === 'orderAction')).toHaveLength(2);
    const actions = await db('order_history').where({ order_id: id }).orderBy('seq').pluck('action');
    expect(actions.filter((a: string) => a === 'ship')).toHaveLength(1);
    expect(actions).not.toContain('confirm');
    expect((await db('orders').where({ id }).first('status')).status).toBe('SHIPPED');
  }
}, 180_000);
