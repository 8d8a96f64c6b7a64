/** Claims as the order center records them: idempotent writes, a later step never overwritten by an older one. */
import type { Knex } from 'knex';
import type { ClaimRecord } from '../../domain/claims';
import { claimEvents } from '../../domain/events';
import { appendEvents, snapshotFor } from '../events/outbox';

export type { ClaimRecord };

export async function saveClaim(db: Knex, record: ClaimRecord): Promise<void> {
  const row = {
    id: record.id,
    order_id: record.orderId,
    customer_id: record.customerId,
    status: record.status,
    kind: record.kind,
    resolution: record.resolution,
    items: JSON.stringify(record.items),
    reason: record.reason,
    refunded_amount: record.refundedAmount,
    shipment: record.shipment ? JSON.stringify(record.shipment) : null,
    history: JSON.stringify(record.history),
    history_seq: record.history.length,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
  await db.transaction(async (trx) => {
    const written = await trx('claims')
      .insert(row)
      .onConflict('id')
      .merge()
      .where('claims.history_seq', '<', record.history.length)
      .returning('id');
    if (written.length === 0) return;
    const { history: _history, ...claim } = record;
    const data = { claim, order: await snapshotFor(trx, record.orderId) };
    await appendEvents(trx, record.orderId, claimEvents(record, data), record.updatedAt);
  });
}

export async function loadClaim(db: Knex, id: string): Promise<ClaimRecord | null> {
  const row = await db('claims').where('id', id).first();
  return row ? claimFromRow(row) : null;
}

/** A `claims` row as the record it is. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function claimFromRow(row: any): ClaimRecord {
  return {
    id: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    kind: row.kind,
    resolution: row.resolution,
    items: row.items,
    reason: row.reason,
    refundedAmount: row.refunded_amount,
    ...(row.shipment ? { shipment: row.shipment } : {}),
    history: row.history,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
