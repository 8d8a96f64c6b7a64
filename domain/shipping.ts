/**
 * Parcels: what an order has sent and what is left to send. A ship request names the units of its
 * parcel (all that is left when it names none); the order is SHIPPED when nothing is left, and
 * PARTIALLY_SHIPPED before that.
 */
import type { LineQuantity, OrderState } from './order';

/**
 * Units still to ship, per sku: ordered less refunded less already shipped. A parcel returned to
 * its sender and refunded counts once, as refunded.
 */
export function unshipped(order: Pick<OrderState, 'items' | 'shipments'>): Map<string, number> {
  const left = new Map(order.items.map((i) => [i.sku, i.quantity - i.refundedQuantity]));
  for (const s of order.shipments ?? [])
    if (!s.returnedAt && !s.exchangeId && !s.claimId)
      for (const i of s.items) left.set(i.sku, (left.get(i.sku) ?? 0) - i.quantity);
  for (const [sku, n] of left) if (n <= 0) left.delete(sku);
  return left;
}

/** Of `units` (a refund's), those the order has not shipped yet, per SKU: what a refund takes back from the shelf. */
export function notYetShipped(
  order: Pick<OrderState, 'items' | 'shipments'>,
  units: readonly LineQuantity[],
): LineQuantity[] {
  const left = unshipped(order);
  return units
    .map(({ sku, quantity }) => ({ sku, quantity: Math.min(quantity, left.get(sku) ?? 0) }))
    .filter((u) => u.quantity > 0);
}

/**
 * Whether some of the order's own units have left and are not coming back: a parcel with units in
 * it, neither recalled nor back at its sender (undelivered). (An exchange's or a claim's parcel is not the
 * order's goods.)
 */
export function goodsHaveLeft(order: Pick<OrderState, 'shipments'>): boolean {
  return (order.shipments ?? []).some(
    (s) =>
      !s.returnedAt &&
      s.status !== 'delivery_failed' &&
      s.recalledAt === undefined &&
      !s.exchangeId &&
      !s.claimId &&
      s.items.some((i) => i.quantity > 0),
  );
}

export type ParcelPlan =
  | { ok: true; items: LineQuantity[]; completes: boolean }
  | {
      ok: false;
      code: 'NOTHING_TO_SHIP' | 'UNKNOWN_LINE';
      message: string;
      details: Record<string, unknown>;
    };

/** The parcel a ship request makes: the named units, bounded by what is left, or everything left. */
export function planParcel(
  order: Pick<OrderState, 'items' | 'shipments'>,
  items?: LineQuantity[],
): ParcelPlan {
  const left = unshipped(order);
  if (left.size === 0)
    return { ok: false, code: 'NOTHING_TO_SHIP', message: 'nothing is left to ship', details: {} };
  if (!items)
    return { ok: true, items: [...left].map(([sku, quantity]) => ({ sku, quantity })), completes: true };
  if (items.length === 0)
    return { ok: false, code: 'NOTHING_TO_SHIP', message: 'an empty parcel', details: {} };
  const wanted = new Map<string, number>();
  for (const i of items) {
    if (!Number.isSafeInteger(i.quantity) || i.quantity < 1)
      return {
        ok: false,
        code: 'NOTHING_TO_SHIP',
        message: 'a quantity is not a positive whole number',
        details: {},
      };
    wanted.set(i.sku, (wanted.get(i.sku) ?? 0) + i.quantity);
  }
  for (const [sku, quantity] of wanted) {
    if (!order.items.some((i) => i.sku === sku))
      return {
        ok: false,
        code: 'UNKNOWN_LINE',
        message: 'the order has no line of that SKU',
        details: { sku },
      };
    if (quantity > (left.get(sku) ?? 0))
      return {
        ok: false,
        code: 'NOTHING_TO_SHIP',
        message: 'more units than are left to ship (sku, left)',
        details: { sku, left: left.get(sku) ?? 0 },
      };
  }
  const completes = [...left].every(([sku, n]) => (wanted.get(sku) ?? 0) >= n);
  return { ok: true, items: [...wanted].map(([sku, quantity]) => ({ sku, quantity })), completes };
}
