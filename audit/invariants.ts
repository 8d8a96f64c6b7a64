/**
 * The invariant checker: reads PostgreSQL, the payment provider's records and the workflows, and
 * reports every violation of the promises this service makes about orders, stock, money and
 * coupons. Used by the chaos run (scripts/chaos.ts), its test, and `npm run check-invariants`.
 */
import { SEEDED_REQUEST_ID } from '../domain/order';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { Knex } from 'knex';
import { isTerminal } from '../domain/machine';
import { machines, type OrderType } from '../domain/machines';
import { orderStateQuery } from '../workflows/messages';
import { auditOrderStock, auditStock, orderMovements, type MovementScope } from '../services/inventory/audit';
import type { PaymentProvider } from '../services/payment/provider';
import { auditEvents } from './events';
import { auditMoney } from './money';

export interface Violation {
  rule: string;
  subject: string;
  detail: string;
}

export interface InvariantReport {
  orders: number;
  byStatus: Record<string, number>;
  products: number;
  coupons: number;
  violations: Violation[];
}

/** States an order may legitimately wait in when the system has settled: none but those with a future timer or a human to act. */
const WAITING = new Set([
  'PENDING_PAYMENT',
  'PENDING_DEPOSIT',
  'DEPOSIT_PAID',
  'PENDING_BALANCE',
  // Staff to decide, with a deadline.
  'IN_REVIEW',
  'IN_PRODUCTION',
  // The rest of the parcels to ship (by hand, or as a warehouse sends them).
  'PARTIALLY_SHIPPED',
  'SHIPPED',
  'CONFIRMED',
  'DELIVERED',
]);

export async function checkInvariants(
  db: Knex,
  temporal: Client,
  payments: PaymentProvider,
  scope: { orderIds?: string[]; skus?: string[]; coupons?: string[] } = {},
): Promise<InvariantReport> {
  const violations: Violation[] = [];
  // Seeded orders (`npm run seed`, for queries) have no workflows and no payments: not audited.
  const orderQuery = db('orders')
    .select('id', 'type', 'status', db.raw("details->'attention'->>'detail' AS flagged_for"))
    .whereRaw('request_id IS DISTINCT FROM ?', [SEEDED_REQUEST_ID]);
  if (scope.orderIds) orderQuery.whereIn('id', scope.orderIds);
  const orders: { id: string; type: OrderType; status: string; flagged_for: string | null }[] =
    await orderQuery;
  const byStatus: Record<string, number> = {};

  for (const order of orders) {
    byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
    const machine = machines[order.type];
    if (!machine.states[order.status])
      violations.push({ rule: 'known state', subject: order.id, detail: order.status });
    // A paid order whose code the vendor refused waits, flagged, and asks again later.
    const waits =
      WAITING.has(order.status) || (order.status === 'PAID' && order.flagged_for === 'code_vendor');
    if (!isTerminal(machine, order.status) && !waits) {
      violations.push({ rule: 'terminal or waiting', subject: order.id, detail: `stuck in ${order.status}` });
    }
    // The database and the workflow agree.
    try {
      const handle = temporal.workflow.getHandle(order.id);
      const description = await handle.describe();
      const workflowStatus =
        description.status.name === 'RUNNING'
          ? (await handle.query(orderStateQuery))?.status
          : description.status.name === 'COMPLETED'
            ? ((await handle.result()) as { status: string }).status
            : `workflow ${description.status.name}`;
      if (workflowStatus !== order.status) {
        violations.push({
          rule: 'database and workflow agree',
          subject: order.id,
          detail: `database ${order.status}, workflow ${workflowStatus}`,
        });
      }
      // One way only: a terminal order's workflow may still run, waiting for parcels the carrier
      // has, a capture still owed or a charge still pending; an open order's may not have ended.
      if (!isTerminal(machine, order.status) && description.status.name !== 'RUNNING') {
        violations.push({
          rule: 'open orders have running workflows',
          subject: order.id,
          detail: `${order.status} / ${description.status.name}`,
        });
      }
    } catch (err) {
      const why = await whyUnanswered(temporal, order.id);
      violations.push({
        rule: 'every order has its workflow',
        subject: order.id,
        detail: `${String(err)}${why ? `; ${why}` : ''}`,
      });
    }
  }

  for (const v of await auditMoney(db, payments, scope.orderIds))
    violations.push({ rule: v.rule, subject: v.orderId, detail: v.detail });

  const stock = await auditStock(db, scope.skus);
  for (const s of stock) {
    if (!s.balanced) {
      violations.push({
        rule: 'initial stock = available + reserved + sold − restocked, per location',
        subject: `${s.sku}@${s.location}`,
        detail: `on hand ${s.onHand} (ledger ${s.ledgerOnHand}), reserved ${s.reserved} (ledger ${s.ledgerReserved}), sold ${s.sold}, restocked ${s.restocked}`,
      });
    }
  }

  violations.push(...(await auditOrderBooks(db, { orderIds: scope.orderIds })));

  const { coupons, violations: couponViolations } = await auditCoupons(db, scope.coupons);
  violations.push(...couponViolations);
  // A cancelled or timed-out order holds no coupon use.
  const held = await db('coupon_uses as u')
    .join('orders as o', 'o.id', 'u.order_id')
    .whereIn('o.status', ['CANCELLED', 'REFUNDED'])
    .whereIn('u.state', ['locked'])
    .modify((q) => (scope.orderIds ? q.whereIn('o.id', scope.orderIds) : q))
    .select('u.order_id', 'u.code');
  for (const h of held)
    violations.push({ rule: 'closed orders release their coupon', subject: h.order_id, detail: h.code });

  // A virtual order refunded in full gave its code up: voided, or flagged where the vendor declined.
  const kept = await db('orders as o')
    .join('production_jobs as j', 'j.order_id', 'o.id')
    .where({ 'o.type': 'virtual', 'o.status': 'REFUNDED' })
    .whereNotNull('j.delivery_code')
    .whereNull('j.voided_at')
    .whereRaw(`(o.details->'attention'->>'code') IS DISTINCT FROM 'void_refused'`)
    .whereRaw('o.request_id IS DISTINCT FROM ?', [SEEDED_REQUEST_ID])
    .modify((q) => (scope.orderIds ? q.whereIn('o.id', scope.orderIds) : q))
    .select('o.id');
  for (const k of kept)
    violations.push({
      rule: 'refunded codes are voided or flagged',
      subject: k.id,
      detail: 'code still active',
    });

  violations.push(...(await auditEvents(db, scope.orderIds)));
  return { orders: orders.length, byStatus, products: stock.length, coupons: coupons.length, violations };
}

/**
 * Each order's own stock books, per location: a level can balance while one order sells what
 * another held, or puts back more than it sold. Every order with movements in scope (by order or
 * by SKU), seeded ones aside.
 */
export async function auditOrderBooks(db: Knex, scope: MovementScope = {}): Promise<Violation[]> {
  const books = await auditOrderStock(db, scope);
  // The orders with movements in scope, by a subquery: a whole database's ids are too many to bind.
  const moved = orderMovements(db, scope).distinct('order_id');
  const orders: { id: string; type: OrderType; status: string }[] = await db('orders')
    .whereIn('id', moved)
    .whereRaw('request_id IS DISTINCT FROM ?', [SEEDED_REQUEST_ID])
    .select('id', 'type', 'status');
  const byId = new Map(orders.map((o) => [o.id, o]));
  const violations: Violation[] = [];
  for (const s of books) {
    const order = byId.get(s.orderId);
    if (!order) continue;
    const subject = `${s.orderId}: ${s.sku}@${s.location}`;
    const held = s.reserved - s.released - s.sold;
    if (held < 0)
      violations.push({
        rule: 'an order releases or sells only what it reserved, per location',
        subject,
        detail: `reserved ${s.reserved}, released ${s.released}, sold ${s.sold}`,
      });
    if (s.restocked + s.lost > s.sold)
      violations.push({
        rule: 'an order restocks or loses only what it sold, per location',
        subject,
        detail: `sold ${s.sold}, restocked ${s.restocked}, lost ${s.lost}`,
      });
    if (held > 0 && isTerminal(machines[order.type], order.status))
      violations.push({
        rule: 'closed orders hold no stock',
        subject,
        detail: `${order.status}, ${held} still reserved`,
      });
  }
  return violations;
}

/**
 * A coupon's uses within its limits: all of them within `maxUses`, a customer's (within their
 * channel: a partner's `alice` is not the web shop's) within `perCustomerLimit`.
 */
export async function auditCoupons(
  db: Knex,
  codes?: string[],
): Promise<{ coupons: { code: string }[]; violations: Violation[] }> {
  const violations: Violation[] = [];
  const couponQuery = db('promotions as p').select(
    'p.code',
    'p.max_uses',
    'p.per_customer_limit',
    db.raw(
      `(SELECT COUNT(*) FROM coupon_uses u WHERE u.code = p.code AND u.state IN ('locked', 'redeemed'))::int AS used`,
    ),
    db.raw(
      `(SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM coupon_uses u WHERE u.code = p.code AND u.state IN ('locked', 'redeemed') GROUP BY u.channel, u.customer_id) c)::int AS most_by_one`,
    ),
  );
  if (codes) couponQuery.whereIn('p.code', codes);
  const coupons = await couponQuery;
  for (const c of coupons) {
    if (c.max_uses != null && c.used > c.max_uses)
      violations.push({
        rule: 'coupon uses ≤ maxUses',
        subject: c.code,
        detail: `${c.used} > ${c.max_uses}`,
      });
    if (c.per_customer_limit != null && c.most_by_one > c.per_customer_limit) {
      violations.push({
        rule: 'coupon uses ≤ perCustomerLimit',
        subject: c.code,
        detail: `${c.most_by_one} > ${c.per_customer_limit}`,
      });
    }
  }
  return { coupons, violations };
}

/**
 * Why a workflow did not answer a query, for the report: its pending workflow task's attempt and
 * the last task failure or timeout in its history (a task failing for good leaves it stuck).
 */
async function whyUnanswered(temporal: Client, orderId: string): Promise<string | undefined> {
  try {
    const handle = temporal.workflow.getHandle(orderId);
    const { raw } = await handle.describe();
    const task = raw.pendingWorkflowTask;
    const EventType = proto.api.enums.v1.EventType;
    const events = (await handle.fetchHistory()).events ?? [];
    const failed = events.filter(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED ||
        e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    );
    const last = failed.at(-1);
    const failure = last?.workflowTaskFailedEventAttributes;
    const cause = failure
      ? proto.api.enums.v1.WorkflowTaskFailedCause[failure.cause ?? 0]
      : last
        ? 'timed out'
        : undefined;
    return [
      `${events.length} events`,
      task
        ? `pending task attempt ${task.attempt}, ${proto.api.enums.v1.PendingWorkflowTaskState[task.state ?? 0]}`
        : 'no pending task',
      `${failed.length} task failures/timeouts`,
      ...(cause ? [`last: ${cause} ${failure?.failure?.message?.slice(0, 300) ?? ''}`.trim()] : []),
    ].join(', ');
  } catch (err) {
    return `not described: ${(err as Error).name}`;
  }
}
