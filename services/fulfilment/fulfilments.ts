/**
 * Fulfilments as the order center keeps them: what was asked of each location and what the
 * warehouse last said. Written by the fulfilment workflows (idempotent: a status only moves
 * forward, so a retried or late write never undoes a newer one); read by staff.
 */
import type { Knex } from 'knex';
import { instantKeySql, keysetPage, pageResult, type PageQuery } from '../paging';
import {
  FULFILMENT_RANK,
  WAITING_FULFILMENT,
  type FulfilmentRecord,
  type FulfilmentStatus,
} from '../../domain/fulfilment';

export async function recordFulfilment(db: Knex, record: FulfilmentRecord, at: string): Promise<void> {
  await db.transaction(async (trx) => {
    const row = await trx('fulfilments').where('id', record.id).forUpdate().first('status');
    if (!row) {
      await trx('fulfilments').insert({
        id: record.id,
        order_id: record.orderId,
        location_id: record.location,
        items: JSON.stringify(record.items),
        status: record.status,
        carrier: record.carrier ?? null,
        tracking_number: record.trackingNumber ?? null,
        requested_at: at,
        updated_at: at,
      });
      return;
    }
    if (FULFILMENT_RANK[record.status] <= FULFILMENT_RANK[row.status as FulfilmentStatus]) return;
    await trx('fulfilments')
      .where('id', record.id)
      .update({
        status: record.status,
        ...(record.carrier ? { carrier: record.carrier } : {}),
        ...(record.trackingNumber ? { tracking_number: record.trackingNumber } : {}),
        updated_at: at,
      });
  });
}

export interface FulfilmentView {
  id: string;
  orderId: string;
  location: string;
  status: FulfilmentStatus;
  items: { sku: string; quantity: number }[];
  carrier: string | null;
  trackingNumber: string | null;
  requestedAt: string;
  updatedAt: string;
}

/**
 * Fulfilments still in a warehouse's hands whose last news is older than `stalledForMs`, oldest
 * first, with the units they hold: a page of them.
 */
export async function stalledFulfilments(db: Knex, stalledForMs: number, page: PageQuery) {
  const q = db('fulfilments')
    .whereIn('status', WAITING_FULFILMENT)
    .andWhere('updated_at', '<', new Date(Date.now() - stalledForMs))
    .select('*', db.raw(`${instantKeySql('updated_at')} AS updated_key`));
  const rows = await keysetPage(q, ['updated_at', 'id'], 'asc', page, ['::timestamptz']);
  return pageResult(
    rows,
    page,
    'stalledFulfilments',
    (row: FulfilmentRow & { updated_key: string }) => [row.updated_key, row.id],
    toView,
  );
}

export async function fulfilmentsOf(db: Knex, orderId: string): Promise<FulfilmentView[]> {
  return (await db('fulfilments').where('order_id', orderId).orderBy('id')).map(toView);
}

interface FulfilmentRow {
  id: string;
  order_id: string;
  location_id: string;
  status: FulfilmentStatus;
  items: { sku: string; quantity: number }[];
  carrier: string | null;
  tracking_number: string | null;
  requested_at: Date;
  updated_at: Date;
}

function toView(r: FulfilmentRow): FulfilmentView {
  return {
    id: r.id,
    orderId: r.order_id,
    location: r.location_id,
    status: r.status,
    items: r.items,
    carrier: r.carrier,
    trackingNumber: r.tracking_number,
    requestedAt: new Date(r.requested_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}
