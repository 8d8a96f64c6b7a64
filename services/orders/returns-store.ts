/** Returns and refunds as the order center records them. Idempotent writes, ordered by sequence. */
import type { Knex } from 'knex';
import { returnEvents } from '../../domain/events';
import type { RefundPlan } from '../../domain/refunds';
import { appendEvents, snapshotFor } from '../events/outbox';
import type { ReturnRecord } from '../../domain/returns';

export type { ReturnRecord };

export async function saveReturn(db: Knex, record: ReturnRecord): Promise<void> {
  const row = {
    id: record.id,
    order_id: record.orderId,
    customer_id: record.customerId,
    status: record.status,
    items: JSON.stringify(record.items),
    reason: record.reason,
    reason_code: record.reasonCode ?? 'other',
    received: record.received ? JSON.stringify(record.received) : null,
    refunded_amount: record.refundedAmount,
    history: JSON.stringify(record.history),
    history_seq: record.history.length,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
  await db.transaction(async (trx) => {
    // A retried or late write of an older step never overwrites a newer one.
    const written = await trx('returns')
      .insert(row)
      .onConflict('id')
      .merge()
      .where('returns.history_seq', '<', record.history.length)
      .returning('id');
    if (written.length === 0) return;
    const data = {
      return: {
        id: record.id,
        status: record.status,
        items: record.items,
        reason: record.reason,
        reasonCode: record.reasonCode ?? 'other',
        ...(record.received ? { received: record.received } : {}),
        refundedAmount: record.refundedAmount,
      },
      order: await snapshotFor(trx, record.orderId),
    };
    await appendEvents(trx, record.orderId, returnEvents(record, data), record.updatedAt);
  });
}

export async function loadReturn(db: Knex, id: string): Promise<ReturnRecord | null> {
  const row = await db('returns').where('id', id).first();
  return row ? returnFromRow(row) : null;
}

/** A `returns` row as the record it is. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function returnFromRow(row: any): ReturnRecord {
  return {
    id: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    items: row.items,
    reason: row.reason,
    reasonCode: row.reason_code ?? 'other',
    ...(row.received ? { received: row.received } : {}),
    refundedAmount: row.refunded_amount,
    history: row.history,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export async function recordRefund(
  db: Knex,
  args: {
    refundId: string;
    orderId: string;
    source: string;
    plan: RefundPlan;
    reason: string;
    at: string;
    /** The channel that owes it (an imported order's): recorded, not sent to the provider. */
    owedBy?: string;
  },
): Promise<void> {
  await db.transaction(async (trx) => {
    const [row] = await trx('order_refunds')
      .insert({
        id: args.refundId,
        order_id: args.orderId,
        source: args.source,
        items: JSON.stringify(args.plan.lines),
        shipping: args.plan.shipping,
        amount: args.plan.amount,
        reason: args.reason,
        owed_by: args.owedBy ?? null,
        created_at: args.at,
      })
      .onConflict('id')
      .ignore()
      .returning('*');
    if (!row) return;
    const data = { refund: refundFromRow(row), order: await snapshotFor(trx, args.orderId) };
    await appendEvents(
      trx,
      args.orderId,
      [
        args.owedBy
          ? { type: 'refund.owed', source: `refund:${args.refundId}:owed`, data }
          : { type: 'refund.succeeded', source: `refund:${args.refundId}`, data },
      ],
      args.at,
    );
  });
}

/** A refund as the API shows it, or null. */
export async function loadRefund(db: Knex, id: string) {
  const row = await db('order_refunds').where('id', id).first();
  return row ? refundFromRow(row) : null;
}

/** An `order_refunds` row as the API shows it. */
export function refundFromRow(row: Record<string, unknown>) {
  return {
    id: row.id as string,
    orderId: row.order_id as string,
    source: row.source as string,
    items: row.items as RefundPlan['lines'],
    shipping: Number(row.shipping),
    amount: Number(row.amount),
    reason: (row.reason as string | null) ?? null,
    // Owed by the channel that took the money (an imported order): not refunded through the provider.
    ...(row.owed_by ? { owedBy: row.owed_by as string } : {}),
    createdAt: new Date(row.created_at as string).toISOString(),
  };
}
