/**
 * The one read behind an order's price, for the quote (./quote-order.ts) and the placement
 * (./place-order.ts) alike: the catalogue rows of its products, its promotion and the customer's
 * member tier, turned into what domain/pricing.ts's `priceOrder` takes.
 */
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';
import {
  type InventoryStrategy,
  type PlaceOrderInput,
  type PresaleTerms,
  unitsBySku,
} from '../../domain/order';
import { DEFAULT_CHANNEL } from '../../domain/order';
import type { MemberTier, PricingInput, Promotion } from '../../domain/pricing';
import { lockCoupon, memberTier, promotionFits, toPromotion, type PromotionRow } from '../promotion/coupons';

/** A product as pricing reads it, with what placement needs besides: its kind, stock and presale terms. */
export interface ProductRow {
  sku: string;
  name: string;
  price: number;
  currency: string;
  kind: 'physical' | 'virtual';
  inventory_strategy: InventoryStrategy | null;
  /** Units free to take, over all locations. */
  available: number;
  presale: PresaleTerms | null;
}

/** What prices an order; the customer is `customerId` within `channel` (none: the web shop's). */
export type PricingRequest = Pick<
  PlaceOrderInput,
  'type' | 'customerId' | 'items' | 'couponCode' | 'channel'
>;

/** Placement's part: the order that locks a use of the coupon, at the workflow's clock. */
export interface CouponLock {
  orderId: string;
  now: Date;
}

export interface PricingRead {
  /** Each SKU once, in the order the request first names it, with its units. */
  ordered: { product: ProductRow; quantity: number }[];
  currency: string;
  pricing: PricingInput;
}

/**
 * Quoting (no `lock`): plain reads, nothing locked; null when the order cannot be priced (an
 * unknown product, mixed currencies).
 */
export function readPricing(db: Knex, request: PricingRequest): Promise<PricingRead | null>;
/**
 * Placing: inside the placement transaction. An order that cannot be placed (an unknown product,
 * mixed currencies, a product of the wrong kind for its type) is refused with the reason before the
 * coupon is looked at; then one use of the coupon is locked for the order, the promotion row held
 * FOR UPDATE (services/promotion/coupons.ts), which refuses an invalid, expired or exhausted coupon.
 */
export function readPricing(
  trx: Knex.Transaction,
  request: PricingRequest,
  lock: CouponLock,
): Promise<PricingRead>;
export async function readPricing(
  db: Knex,
  request: PricingRequest,
  lock?: CouponLock,
): Promise<PricingRead | null> {
  const quantities = unitsBySku(request.items);
  const skus = [...quantities.keys()];

  if (!lock) {
    const [products, promotion, tier] = await Promise.all([
      readProducts(db, skus),
      request.couponCode
        ? db('promotions').where('code', request.couponCode).first<PromotionRow | undefined>()
        : undefined,
      memberTier(db, request.customerId, request.channel ?? DEFAULT_CHANNEL),
    ]);
    if (unpriceable(quantities, products)) return null;
    const ordered = inOrder(quantities, products);
    return pricingRead(
      request.type,
      ordered,
      promotion && promotionFits(promotion, ordered[0]!.product.currency) ? toPromotion(promotion) : null,
      tier,
    );
  }

  // The overload lets only a transaction lock.
  const trx = db as Knex.Transaction;
  const products = await readProducts(trx, skus);
  const refusal = unpriceable(quantities, products) ?? wrongKind(request.type, products);
  if (refusal) throw refusal;
  const ordered = inOrder(quantities, products);
  // The coupon's minimum is checked against the subtotal before any discount.
  const subtotal = ordered.reduce((sum, { product, quantity }) => sum + product.price * quantity, 0);
  const promotion = request.couponCode
    ? await lockCoupon(trx, {
        code: request.couponCode,
        orderId: lock.orderId,
        customerId: request.customerId,
        channel: request.channel ?? DEFAULT_CHANNEL,
        subtotal,
        currency: ordered[0]!.product.currency,
        now: lock.now,
      })
    : null;
  return pricingRead(
    request.type,
    ordered,
    promotion,
    await memberTier(trx, request.customerId, request.channel ?? DEFAULT_CHANNEL),
  );
}

export function readProducts(db: Knex, skus: string[]): Promise<ProductRow[]> {
  return db('products')
    .whereIn('sku', skus)
    .select<ProductRow[]>(
      'sku',
      'name',
      'price',
      'currency',
      'kind',
      'inventory_strategy',
      db.raw(
        `(SELECT COALESCE(SUM(s.on_hand - s.reserved), 0) FROM stock_levels s WHERE s.sku = products.sku)::bigint AS available`,
      ),
      'presale',
    );
}

export function unpriceable(
  quantities: Map<string, number>,
  products: ProductRow[],
): BusinessRuleError | null {
  const known = new Set(products.map((p) => p.sku));
  const missing = [...quantities.keys()].filter((sku) => !known.has(sku));
  if (missing.length > 0)
    return new BusinessRuleError('UNKNOWN_PRODUCT', 'some products are unknown (skus)', { skus: missing });
  if (new Set(products.map((p) => p.currency)).size > 1)
    return new BusinessRuleError('CURRENCY_MISMATCH', 'all items of an order must share one currency');
  return null;
}

/** A virtual order takes virtual products only, a presale presale products only, the others neither. */
export function wrongKind(type: PricingRequest['type'], products: ProductRow[]): BusinessRuleError | null {
  const wantKind = type === 'virtual' ? 'virtual' : 'physical';
  const wrong = products.filter((p) => p.kind !== wantKind || (type === 'presale') !== (p.presale != null));
  if (wrong.length === 0) return null;
  return new BusinessRuleError(
    'WRONG_PRODUCT_KIND',
    'these products cannot be in an order of this type (skus)',
    { skus: wrong.map((p) => p.sku) },
  );
}

/** Each SKU once, in the order the request first names it, with its catalogue row. */
function inOrder(quantities: Map<string, number>, products: ProductRow[]): PricingRead['ordered'] {
  const bySku = new Map(products.map((p) => [p.sku, p]));
  return [...quantities.entries()].map(([sku, quantity]) => ({ product: bySku.get(sku)!, quantity }));
}

function pricingRead(
  type: PricingRequest['type'],
  ordered: PricingRead['ordered'],
  promotion: Promotion | null,
  tier: MemberTier,
): PricingRead {
  return {
    ordered,
    currency: ordered[0]!.product.currency,
    pricing: {
      lines: ordered.map(({ product, quantity }) => ({
        sku: product.sku,
        name: product.name,
        unitPrice: product.price,
        quantity,
      })),
      promotion,
      memberTier: tier,
      shipsPhysically: type !== 'virtual',
    },
  };
}
