/**
 * A cancelled order's recalled parcel that its workflow gave up as lost (`recall_lost`: the order
 * and its fulfilment workflows have ended) and that the carrier brings back after all. Nobody is
 * left to hear the warehouse's news, so the webhook records it here, in one transaction: the units
 * back on hand where the parcel left from (the ledger's key is the one the workflow uses for a
 * parcel back in time, `rts-<parcel>`: never twice), the parcel and its fulfilment as returned,
 * the order's history (`recall_returned_late`), its flag cleared once no recalled parcel is
 * missing, and the events, as any transition writes them.
 */
import type { Knex } from 'knex';
import type { FulfilmentRecord } from '../../domain/fulfilment';
import type { HistoryEntry, OrderState } from '../../domain/order';
import { restock } from '../inventory/ledger';
import { recordFulfilment } from '../fulfilment/fulfilments';
import { loadOrder } from './read-order';
import { recordTransition } from './record-transition';

/** Whether this news is of a recalled parcel its order gave up as lost (read without a lock: `recordLateRecallReturn` asks again). */
export async function isGivenUpRecall(db: Knex, record: FulfilmentRecord): Promise<boolean> {
  if (record.status !== 'delivery_failed') return false;
  const order = await loadOrder(db, record.orderId);
  return order !== null && givenUp(order, record);
}

/** True when the parcel was one given up and is now recorded back; false when there was nothing to do. */
export async function recordLateRecallReturn(
  db: Knex,
  record: FulfilmentRecord,
  at: string,
): Promise<boolean> {
  if (record.status !== 'delivery_failed') return false;
  return db.transaction(async (trx) => {
    // The order's row, held: a second delivery of the news (another event id) waits, then finds it done.
    if (!(await trx('orders').where('id', record.orderId).forUpdate().first('id'))) return false;
    const order = await loadOrder(trx, record.orderId);
    if (!order || !givenUp(order, record)) return false;
    const parcel = order.shipments!.find((s) => s.id === record.id)!;
    await restock(trx, order.id, parcel.items, `rts-${record.id}`, record.location);
    await recordFulfilment(trx, record, at);
    const shipments = order.shipments!.map((s) =>
      s.id === record.id ? { ...s, status: 'delivery_failed' as const } : s,
    );
    // The flag stays while a recalled parcel is still missing, or was delivered despite the recall
    // (the customer has refunded goods), naming where those left from.
    const flagged = shipments.filter(
      (s) => outWithCarrier(s) || (s.recalledAt !== undefined && s.status === 'delivered'),
    );
    const where = [...new Set(flagged.map((s) => s.location ?? 'the carrier'))].join(', ');
    const attention =
      order.attention?.code !== 'recall_failed'
        ? order.attention
        : flagged.length > 0
          ? { ...order.attention, detail: where }
          : undefined;
    const entry: HistoryEntry = {
      seq: order.history.length + 1,
      from: order.status,
      action: 'recall_returned_late',
      to: order.status,
      actor: 'system',
      at,
      reason: record.location,
    };
    const { history: _history, id: _id, attention: _flag, ...rest } = order;
    await recordTransition(trx, order.id, entry, {
      ...rest,
      shipments,
      fulfilments: (order.fulfilments ?? []).map((f) =>
        f.id === record.id ? { ...f, status: 'delivery_failed' as const } : f,
      ),
      ...(attention ? { attention } : {}),
      updatedAt: at,
    });
    return true;
  });
}

type Parcel = NonNullable<OrderState['shipments']>[number];

const outWithCarrier = (s: Parcel) =>
  s.recalledAt !== undefined && (s.status === 'shipped' || s.status === 'in_transit');

/** The parcel was recalled from where the news says, never came back, and the order gave up on it. */
function givenUp(order: OrderState, record: FulfilmentRecord): boolean {
  const parcel = order.shipments?.find((s) => s.id === record.id);
  return (
    order.status === 'CANCELLED' &&
    parcel !== undefined &&
    parcel.location === record.location &&
    outWithCarrier(parcel) &&
    order.history.some((h) => h.action === 'recall_lost')
  );
}
