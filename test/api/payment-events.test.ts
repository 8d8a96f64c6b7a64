/**
 * Issue 22, item 1: a payment's steps are events too. Each payment of an order announces each
 * status it reaches once (`payment.pending`, `.authorized`, `.succeeded`, `.failed`, `.voided`),
 * whether a transition or a payment's own news wrote it, numbered in the order's one sequence.
 */
import type { Db } from '../../db/knex';
import type { HistoryEntry, OrderPayment } from '../../domain/order';
import { loadOrder } from '../../services/orders/read-order';
import { recordPayments, recordTransition } from '../../services/orders/record-transition';
import { call, customer, merchant, putProduct, uniqueSku, waitForOrder } from '../support/api';
import { testDb, testTemporal } from '../support/backends';

async function order() {
  const sku = uniqueSku('pev');
  await putProduct(sku, { price: 1500, stock: 10 });
  const owner = customer();
  const reply = await call('POST', '/v1/orders', { as: owner, body: { items: [{ sku, quantity: 1 }] } });
  expect(reply.status).toBe(201);
  return { id: reply.body.order.id as string, owner };
}
/** An order whose PostgreSQL rows the test writes by hand: its workflow is ended, so it writes none. */
async function orderWrittenByHand(): Promise<string> {
  const { id } = await order();
  const temporal = await testTemporal();
  try {
    await temporal.client.workflow.getHandle(id).terminate('the test writes this order’s rows itself');
  } finally {
    await temporal.close();
  }
  return id;
}
/** A payment of the order's 15.00 as the workflow records it. */
/** Until a statement like `pattern` (SQL's LIKE) is seen waiting for a lock; `what` names it if it never is. */
async function waitingOnLock(db: Db, pattern: string, what: string): Promise<void> {
  for (let t = 0; t < 250; t++) {
    const waiting = await db.raw(
      `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?`,
      [pattern],
    );
    if (waiting.rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} never waited for the order`);
}

const paymentOf = (id: string, status: OrderPayment['status']): OrderPayment => ({
  id,
  status,
  amount: 1500,
  refunded: 0,
});
const pay = (id: string, owner: ReturnType<typeof customer>, paymentToken: string) =>
  call('POST', `/v1/orders/${id}/pay`, { as: owner, body: { paymentToken } });
const eventsOf = async (id: string) =>
  (await call('GET', `/v1/orders/${id}/events?limit=100`, { as: merchant })).body.items as {
    type: string;
    sequence: number;
    data: { payment?: { id: string; status: string } };
  }[];

test('a bank transfer that fails, then a card that succeeds: one event per step, in the order’s sequence without a gap', async () => {
  const { id, owner } = await order();
  expect((await pay(id, owner, 'tok_async_fail')).status).toBe(202);
  await waitForOrder(id, owner, (o) => o.payments.some((p: { status: string }) => p.status === 'failed'));
  // A decline the provider answers at once is no payment of the order: nothing to announce.
  expect((await pay(id, owner, 'tok_declined')).status).toBe(402);
  const paid = await pay(id, owner, 'tok_ok');
  expect(paid.status).toBe(200);
  const events = await eventsOf(id);
  const payments = events.filter((e) => e.type.startsWith('payment.'));
  expect(payments.map((e) => [e.type, e.data.payment!.status])).toEqual([
    ['payment.pending', 'processing'],
    ['payment.failed', 'failed'],
    ['payment.succeeded', 'succeeded'],
  ]);
  expect(payments[2]!.data.payment!.id).toBe(paid.body.order.payments[1].id);
  // Announced with the transition that took the money, in the same statement, right after it.
  const types = events.map((e) => e.type);
  expect(types.indexOf('payment.succeeded')).toBe(types.indexOf('order.paid') + 1);
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
});

test('a bank transfer: pending when accepted, succeeded when the provider settles it, each once', async () => {
  const { id, owner } = await order();
  expect((await pay(id, owner, 'tok_async_ok')).status).toBe(202);
  await waitForOrder(id, owner, (o) => o.paymentStatus === 'paid', 30_000);
  const events = await eventsOf(id);
  expect(events.filter((e) => e.type.startsWith('payment.')).map((e) => e.type)).toEqual([
    'payment.pending',
    'payment.succeeded',
  ]);
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
});

// A pending payment's two statuses are one event (`payment.pending`): news in one, a transition showing the other.
test.each([
  ['failed', 'failed', 'payment.failed'],
  ['processing', 'requires_action', 'payment.pending'],
] as const)(
  'a payment’s news (%s) committed while a transition’s statement (%s) waits for the order: its event once, no gap',
  async (news, shown, type) => {
    const id = await orderWrittenByHand();
    const db = testDb();
    try {
      const { history, id: _id, ...before } = (await loadOrder(db, id))!;
      const payment = (status: OrderPayment['status']) => paymentOf('pay_race', status);
      const at = new Date().toISOString();
      const entry: HistoryEntry = {
        seq: history.length + 1,
        from: before.status,
        action: 'cancel',
        to: 'CANCELLED',
        actor: 'system',
        at,
      };
      let transition: Promise<void> | undefined;
      // The payment's news (a retried `recordPayments`, say) holds the order's row; the transition,
      // which shows the same payment, starts meanwhile and waits for it.
      await db.transaction(async (trx) => {
        await recordPayments(trx, id, history.length, [payment(news)], at);
        transition = recordTransition(db, id, entry, {
          ...before,
          status: 'CANCELLED',
          payments: [payment(shown)],
        });
        transition.catch(() => undefined); // awaited below
        // Committed only once the statement is seen waiting for a lock.
        await waitingOnLock(db, '%INSERT INTO order_history%', 'the transition’s statement');
      });
      await transition;
      const events = await db('order_events').where({ order_id: id }).orderBy('seq').select('seq', 'type');
      expect(events.filter((e) => e.type === type)).toHaveLength(1);
      expect(events.map((e) => e.type)).toContain('order.cancelled');
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect((await db('orders').where({ id }).first('event_seq')).event_seq).toBe(events.length);
    } finally {
      await db.destroy();
    }
  },
);

test('an older write of the payments, held up until a newer one committed, puts nothing back', async () => {
  const id = await orderWrittenByHand();
  const db = testDb();
  try {
    const seq = (await loadOrder(db, id))!.history.length;
    const at = new Date().toISOString();
    const payment = (status: OrderPayment['status']) => paymentOf('pay_held', status);
    const state = async () => ({
      payments: ((await loadOrder(db, id))!.payments ?? []).map((p) => p.status),
      events: (await db('order_events').where({ order_id: id }).orderBy('seq').select('type')).map(
        (e) => e.type,
      ),
    });
    await recordPayments(db, id, seq, [payment('processing')], at, 1);
    await recordPayments(db, id, seq, [payment('failed')], at, 2);
    const settled = await state();
    expect(settled.payments).toEqual(['failed']);
    expect(settled.events.slice(-2)).toEqual(['payment.pending', 'payment.failed']);
    // The first write's attempt that was held up changes nothing; nor does a retry of the second.
    await recordPayments(db, id, seq, [payment('processing')], at, 1);
    expect(await state()).toEqual(settled);
    await recordPayments(db, id, seq, [payment('failed')], at, 2);
    expect(await state()).toEqual(settled);
    // A workflow that ran before `rev` was passed still writes, guarded by its seq alone.
    await recordPayments(db, id, seq, [payment('failed'), { ...payment('processing'), id: 'pay_next' }], at);
    expect((await state()).payments).toEqual(['failed', 'processing']);
  } finally {
    await db.destroy();
  }
});

test('an older write of the payments that waits on the row while a newer one commits puts nothing back', async () => {
  const id = await orderWrittenByHand();
  const db = testDb();
  try {
    const seq = (await loadOrder(db, id))!.history.length;
    const at = new Date().toISOString();
    const payment = (status: OrderPayment['status']) => paymentOf('pay_locked', status);
    let held: Promise<void> | undefined;
    // The newer write (rev 2) holds the order's row; the older one's attempt (rev 1) starts meanwhile.
    // On the row as committed (no rev yet) its condition holds, so it waits for the lock. Once the
    // newer one commits, PostgreSQL checks the condition again, on the row as the newer one left it.
    await db.transaction(async (trx) => {
      await recordPayments(trx, id, seq, [payment('failed')], at, 2);
      held = recordPayments(db, id, seq, [payment('processing')], at, 1);
      held.catch(() => undefined); // awaited below
      await waitingOnLock(db, '%AS payments from "orders"%for update%', 'the older write');
    });
    await held;
    expect(((await loadOrder(db, id))!.payments ?? []).map((p) => p.status)).toEqual(['failed']);
    const events = await db('order_events').where({ order_id: id }).orderBy('seq').select('type');
    expect(events.map((e) => e.type).filter((t) => t.startsWith('payment.'))).toEqual(['payment.failed']);
  } finally {
    await db.destroy();
  }
});
