/**
 * Fewer items on an order that is not yet in production: the stock no longer needed is released,
 * the order repriced with its coupon and the customer's tier (a coupon whose minimum is no longer
 * met gives nothing and its use is released), and the lines rewritten. One transaction;
 * idempotent by `tag` (a retry finds the stock already released and reprices to the same result).
 */
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';
import {
  presaleDeposit,
  pricedOrderLines,
  type ModifiedItems,
  type OrderLine,
  type Presale,
  type LineQuantity,
} from '../../domain/order';
import { priceOrder, promotionDiscount } from '../../domain/pricing';
import { allocationOf, release } from '../inventory/ledger';
import { heldPromotion, memberTier, releaseCoupon } from '../promotion/coupons';
import { writeOrderLines } from './order-lines';

export async function modifyOrderItems(
  db: Knex,
  args: { orderId: string; items: LineQuantity[]; tag: string },
): Promise<ModifiedItems> {
  return db.transaction(async (trx) => {
    const order = await trx('orders').where('id', args.orderId).forUpdate().first();
    const current: {
      sku: string;
      name: string;
      quantity: number;
      unit_price: number;
      inventory_strategy: string;
    }[] = await trx('order_items').where('order_id', args.orderId).orderBy('line');
    const wanted = new Map(args.items.map((i) => [i.sku, i.quantity]));
    const kept = current
      .map((l) => ({ ...l, newQuantity: Math.min(l.quantity, wanted.get(l.sku) ?? l.quantity) }))
      .filter((l) => l.newQuantity > 0);
    if (kept.length === 0)
      throw new BusinessRuleError('AMOUNT_TOO_LARGE', 'an order needs at least one item: cancel it instead');

    // Released stock is what the original order held minus what it keeps; release() never gives back more than is held.
    const fewer = current
      .map((l) => ({
        sku: l.sku,
        quantity: l.quantity - (kept.find((k) => k.sku === l.sku)?.newQuantity ?? 0),
      }))
      .filter((l) => l.quantity > 0);
    await release(trx, args.orderId, fewer, args.tag);

    const lines = kept.map((l) => ({
      sku: l.sku,
      name: l.name,
      unitPrice: l.unit_price,
      quantity: l.newQuantity,
    }));
    const subtotal = lines.reduce((a, l) => a + l.unitPrice * l.quantity, 0);
    let promotion = order.coupon_code ? await heldPromotion(trx, args.orderId) : null;
    if (promotion && promotionDiscount(promotion, subtotal) === 0) {
      await releaseCoupon(trx, args.orderId);
      promotion = null;
    }
    const priced = priceOrder({
      lines,
      promotion,
      memberTier: await memberTier(trx, order.customer_id, order.channel),
      shipsPhysically: order.type !== 'virtual',
    });

    const items = pricedOrderLines(
      priced.lines,
      (i) => kept[i]!.inventory_strategy as OrderLine['inventoryStrategy'],
    );
    await writeOrderLines(trx, args.orderId, items);

    // The deposit the customer committed to, for the units kept (not the catalogue's as it is now).
    let presale: Presale | null = order.details?.presale ?? null;
    if (presale) {
      const was = current.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPrice: l.unit_price }));
      const deposit = presaleDeposit(presale, was, items);
      presale = { ...presale, deposit: Math.min(deposit, priced.amounts.total) };
    }
    return {
      items,
      amounts: { ...priced.amounts, paid: order.paid, refunded: order.refunded },
      discounts: priced.discounts,
      presale,
      allocation: await allocationOf(trx, args.orderId),
    };
  });
}
