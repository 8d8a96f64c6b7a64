/**
 * What an order would cost right now, read without locking anything: the API writes it into the
 * workflow's static summary so support staff see the total in the Web UI's list. Placement prices
 * the order again inside its own transaction, and that is what the order keeps; the two differ
 * only if a price or promotion changed in between.
 */
import type { Knex } from 'knex';
import type { OrderType } from '../../domain/machines';
import { unitsBySku } from '../../domain/order';
import { priceOrder } from '../../domain/pricing';
import { memberTier, toPromotion, type PromotionRow } from '../promotion/coupons';

export interface QuoteInput {
  type: OrderType;
  customerId: string;
  items: { sku: string; quantity: number }[];
  couponCode?: string;
}

export interface Quote {
  total: number;
  currency: string;
}

/** Null when the order cannot be priced (an unknown product, mixed currencies): placement refuses it and says why. */
export async function quoteOrder(db: Knex, input: QuoteInput): Promise<Quote | null> {
  const quantities = unitsBySku(input.items);
  const [products, promotion, tier] = await Promise.all([
    db('products')
      .whereIn('sku', [...quantities.keys()])
      .select<{ sku: string; name: string; price: number; currency: string }[]>(
        'sku',
        'name',
        'price',
        'currency',
      ),
    input.couponCode
      ? db('promotions').where('code', input.couponCode).first<PromotionRow | undefined>()
      : undefined,
    memberTier(db, input.customerId),
  ]);
  const currencies = new Set(products.map((p) => p.currency));
  if (products.length !== quantities.size || currencies.size !== 1) return null;
  const priced = priceOrder({
    lines: products.map((p) => ({
      sku: p.sku,
      name: p.name,
      unitPrice: p.price,
      quantity: quantities.get(p.sku)!,
    })),
    promotion: promotion ? toPromotion(promotion) : null,
    memberTier: tier,
    shipsPhysically: input.type !== 'virtual',
  });
  return { total: priced.amounts.total, currency: products[0]!.currency };
}
