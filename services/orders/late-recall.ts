/**
 * A cancelled order's recalled parcel that its workflow gave up as lost (`recall_lost`: the order
 * and its fulfilment workflows have ended) and that the carrier brings back after all, or delivers
 * after all. Nobody is left to hear the warehouse's news, so the webhook records it here, in one
 * transaction, as the workflow would have:
 * - back at its sender: the units back on hand where the parcel left from (the ledger's key is the
 *   one the workflow uses for a parcel back in time, `rts-<parcel>`: never twice), the parcel and
 *   its fulfilment `delivery_failed`, history `recall_returned_late`, the flag cleared once no
 *   parcel is missing or delivered;
 * - delivered: nothing restocked (the units are the customer's) and nothing refunded, the parcel
 *   and its fulfilment `delivered`, history `recall_delivered_late`, and the order flagged
 *   `recall_failed` afresh (the customer has goods the cancel refunded: support decides);
 * with the events, as any transition writes them.
 */
import type { Knex } from 'knex';
import type { FulfilmentRecord } from '../../domain/fulfilment';
import type { HistoryEntry, OrderState } from '../../domain/order';
import { restock } from '../inventory/ledger';
import { recordFulfilment } from '../fulfilment/fulfilments';
import { loadOrder } from './read-order';
import { recordTransition } from './record-transition';

/** The history action of each late news of a given-up parcel. */
const LATE = { delivery_failed: 'recall_returned_late', delivered: 'recall_delivered_late' } as const;
type LateStatus = keyof typeof LATE;
const isLate = (status: FulfilmentRecord['status']): status is LateStatus => Object.hasOwn(LATE, status);

/** Whether this news is of a recalled parcel its order gave up as lost (read without a lock: `recordLateRecallNews` asks again). */
export async function isGivenUpRecall(db: Knex, record: FulfilmentRecord): Promise<boolean> {
  if (!isLate(record.status)) return false;
  const order = await loadOrder(db, record.orderId);
  return order !== null && givenUp(order, record);
}

/** True when the parcel was one given up and its news is now recorded; false when there was nothing to do. */
export async function recordLateRecallNews(db: Knex, record: FulfilmentRecord, at: string): Promise<boolean> {
  const status = record.status;
  if (!isLate(status)) return false;
  return db.transaction(async (trx) => {
    // The order's row, held: a second delivery of the news (another event id) waits, then finds it done.
    if (!(await trx('orders').where('id', record.orderId).forUpdate().first('id'))) return false;
    const order = await loadOrder(trx, record.orderId);
    if (!order || !givenUp(order, record)) return false;
    const parcel = order.shipments!.find((s) => s.id === record.id)!;
    if (status === 'delivery_failed')
      await restock(trx, order.id, parcel.items, `rts-${record.id}`, record.location);
    await recordFulfilment(trx, record, at);
    const shipments = order.shipments!.map((s) => (s.id === record.id ? { ...s, status } : s));
    // The flag stays while a recalled parcel is still missing, or a parcel was delivered (despite
    // its recall, or before the cancel) and not sent back: the customer has refunded goods. It
    // names where those left from.
    const flagged = shipments.filter((s) => outWithCarrier(s) || (s.status === 'delivered' && !s.returnedAt));
    const where = [...new Set(flagged.map((s) => s.location ?? 'the carrier'))].join(', ');
    const attention =
      status === 'delivered'
        ? { code: 'recall_failed' as const, detail: where, at }
        : order.attention?.code !== 'recall_failed'
          ? order.attention
          : flagged.length > 0
            ? { ...order.attention, detail: where }
            : undefined;
    const entry: HistoryEntry = {
      seq: order.history.length + 1,
      from: order.status,
      action: LATE[status],
      to: order.status,
      actor: 'system',
      at,
      reason: record.location,
    };
    const { history: _history, id: _id, attention: _flag, ...rest } = order;
    await recordTransition(trx, order.id, entry, {
      ...rest,
      shipments,
      fulfilments: (order.fulfilments ?? []).map((f) => (f.id === record.id ? { ...f, status } : f)),
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
