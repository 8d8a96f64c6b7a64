/**
 * Fulfilments: what a stock location is asked to send for an order, and where that stands as the
 * warehouse and its carrier report it. A status only moves forward (RANK); the ends share a rank.
 */
import type { LineQuantity } from './order';

export type FulfilmentStatus =
  | 'requested'
  | 'accepted'
  | 'refused'
  | 'picked'
  | 'packed'
  | 'shipped'
  | 'in_transit'
  | 'delivered'
  | 'delivery_failed'
  | 'cancelled';

export interface FulfilmentRecord {
  id: string;
  orderId: string;
  location: string;
  status: FulfilmentStatus;
  items: LineQuantity[];
  /** What was picked, once it was: fewer than asked when the shelf was short. */
  picked?: LineQuantity[];
  carrier?: string;
  trackingNumber?: string;
}

export const FULFILMENT_RANK: Record<FulfilmentStatus, number> = {
  requested: 0,
  accepted: 1,
  picked: 2,
  packed: 3,
  shipped: 4,
  in_transit: 5,
  delivered: 6,
  delivery_failed: 6,
  refused: 6,
  cancelled: 6,
};

/** Still in the warehouse's hands, holding stock: what a stalled fulfilment can be. */
export const WAITING_FULFILMENT: readonly FulfilmentStatus[] = ['requested', 'accepted', 'picked', 'packed'];

/**
 * News of a fulfilment its order's cancel stopped at the warehouse, sent before that (on its way
 * while the cancel ran): a step before shipping, or a refusal, is stale and changes nothing. A
 * parcel shipped or delivered after all is news still, to be seen.
 */
export const staleAfterCancel = (known: FulfilmentStatus | undefined, news: FulfilmentStatus): boolean =>
  known === 'cancelled' && (WAITING_FULFILMENT.includes(news) || news === 'refused');

export const isFulfilmentOver = (status: FulfilmentStatus) => FULFILMENT_RANK[status] === 6;

/**
 * The id a warehouse dedupes a request by, and the fulfilment's child workflow id. A location asked
 * again for the same order (units moved there after a short pick elsewhere) is a later round.
 */
export const fulfilmentId = (orderId: string, location: string, round = 1) =>
  round === 1 ? `${orderId}:${location}` : `${orderId}:${location}:${round}`;
export const fulfilmentWorkflowId = (orderId: string, location: string, round = 1) =>
  round === 1 ? `${orderId}-fulfil-${location}` : `${orderId}-fulfil-${location}-${round}`;

/** Whether `id` is one `fulfilmentId` gives for this order and location, in some round. */
export function isFulfilmentIdOf(id: string, orderId: string, location: string): boolean {
  if (id === fulfilmentId(orderId, location)) return true;
  const prefix = `${orderId}:${location}:`;
  return id.startsWith(prefix) && /^([2-9]|[1-9]\d{1,5})$/.test(id.slice(prefix.length));
}

/** The child workflow a warehouse's news of this fulfilment goes to. */
export function workflowIdOf(record: Pick<FulfilmentRecord, 'id' | 'orderId' | 'location'>): string {
  const prefix = `${record.orderId}:${record.location}:`;
  const round = record.id.startsWith(prefix) ? Number(record.id.slice(prefix.length)) : 1;
  return fulfilmentWorkflowId(record.orderId, record.location, Number.isSafeInteger(round) ? round : 1);
}

/** Units asked for less units picked, per sku: what a short pick left behind. */
export function missingUnits(record: Pick<FulfilmentRecord, 'items' | 'picked'>) {
  if (!record.picked) return [];
  return record.items
    .map((i) => ({
      sku: i.sku,
      quantity: i.quantity - (record.picked!.find((p) => p.sku === i.sku)?.quantity ?? 0),
    }))
    .filter((i) => i.quantity > 0);
}
