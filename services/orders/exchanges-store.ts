/** Exchanges as the order center records them: idempotent writes, a later step never overwritten by an older one. */
import type { Knex } from 'knex';
import type { ExchangeRecord } from '../../domain/exchanges';
import { exchangeEvents } from '../../domain/events';
import { appendEvents, snapshotFor } from '../events/outbox';

export type { ExchangeRecord };

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export async function saveExchange(db: Knex, record: ExchangeRecord): Promise<void> {
  const row = {
    id: record.id,
    order_id: record.orderId,
    customer_id: record.customerId,
    status: record.status,
    currency: record.currency,
    return_items: JSON.stringify(record.returnItems),
    new_items: JSON.stringify(record.newItems),
    credit: record.credit,
    new_total: record.newTotal,
    difference: record.difference,
    payment: json(record.payment),
    refunded_amount: record.refundedAmount,
    received: json(record.received),
    shipment: json(record.shipment),
    reason: record.reason,
    history: JSON.stringify(record.history),
    history_seq: record.history.length,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
  await db.transaction(async (trx) => {
    const written = await trx('exchanges')
      .insert(row)
      .onConflict('id')
      .merge()
      .where('exchanges.history_seq', '<', record.history.length)
      .returning('id');
    if (written.length === 0) return;
    const { history, ...exchange } = record;
    const data = { exchange, order: await snapshotFor(trx, record.orderId) };
    await appendEvents(
      trx,
      record.orderId,
      exchangeEvents(record, history.at(-1)!.action, data),
      record.updatedAt,
    );
  });
}

export async function loadExchange(db: Knex, id: string): Promise<ExchangeRecord | null> {
  const row = await db('exchanges').where('id', id).first();
  return row ? exchangeFromRow(row) : null;
}

/** An `exchanges` row as the record it is. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function exchangeFromRow(row: any): ExchangeRecord {
  return {
    id: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    currency: row.currency.trim(),
    returnItems: row.return_items,
    newItems: row.new_items,
    credit: Number(row.credit),
    newTotal: Number(row.new_total),
    difference: Number(row.difference),
    ...(row.payment ? { payment: row.payment } : {}),
    refundedAmount: row.refunded_amount === null ? null : Number(row.refunded_amount),
    ...(row.received ? { received: row.received } : {}),
    ...(row.shipment ? { shipment: row.shipment } : {}),
    reason: row.reason,
    history: row.history,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
