/**
 * Order pricing, pure: subtotal, promotion discount, member discount, shipping, total, all in
 * integer minor units. Order-level discounts are allocated to lines (domain/allocate.ts) so that
 * the line totals plus shipping equal the order total exactly; refunds are computed from them.
 */
import { allocate, mulDiv } from './allocate';
import { BusinessRuleError } from './errors';

export type PromotionKind = 'percent' | 'fixed' | 'threshold';
export type MemberTier = 'standard' | 'silver' | 'gold';

export interface Promotion {
  code: string;
  kind: PromotionKind;
  value: number;
  minSubtotal?: number | null;
}

/** Member discounts, in whole percent, taken after the promotion. */
export const MEMBER_TIER_PERCENT: Record<MemberTier, number> = { standard: 0, silver: 3, gold: 5 };

/** Physical orders pay a flat fee unless their merchandise total (after discounts) reaches the threshold. */
export interface ShippingRule {
  flatFee: number;
  freeFrom: number;
}
export const DEFAULT_SHIPPING_RULE: ShippingRule = { flatFee: 800, freeFrom: 9900 };
/** Room kept under the amount cap for the shipping fee, so the total is as safe as the subtotal. */
const MAX_SHIPPING = 1_000_000;

export interface LineInput {
  sku: string;
  name: string;
  unitPrice: number;
  quantity: number;
}

export interface PricedLine extends LineInput {
  subtotal: number;
  discount: number;
  total: number;
}

export interface AppliedDiscount {
  source: 'promotion' | 'member';
  code: string;
  amount: number;
}

export interface Amounts {
  subtotal: number;
  discount: number;
  shipping: number;
  total: number;
}

export interface Priced {
  lines: PricedLine[];
  discounts: AppliedDiscount[];
  amounts: Amounts;
}

export interface PricingInput {
  lines: LineInput[];
  shipsPhysically: boolean;
  promotion?: Promotion | null;
  memberTier?: MemberTier | null;
  shippingRule?: ShippingRule;
}

/** The discount a promotion gives on `base`, or 0 when its minimum is not reached. Never more than `base`. */
export function promotionDiscount(promotion: Promotion, base: number): number {
  if (promotion.minSubtotal != null && base < promotion.minSubtotal) return 0;
  switch (promotion.kind) {
    case 'percent':
      return Math.min(base, mulDiv(base, promotion.value, 100));
    case 'fixed':
      return Math.min(base, promotion.value);
    case 'threshold':
      return Math.min(base, promotion.value);
  }
}

export function priceOrder(input: PricingInput): Priced {
  for (const line of input.lines) {
    if (!Number.isSafeInteger(line.unitPrice) || line.unitPrice < 0) throw new Error('bad unit price');
    if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0) throw new Error('bad quantity');
  }
  const lineSubtotals = input.lines.map((l) => l.unitPrice * l.quantity);
  const subtotal = lineSubtotals.reduce((a, b) => a + b, 0);
  // Money is exact integers: past 2^53 a number no longer is one (1e16 would print as 1e+16).
  if (!lineSubtotals.every(Number.isSafeInteger) || !Number.isSafeInteger(subtotal + MAX_SHIPPING))
    throw new BusinessRuleError('AMOUNT_TOO_LARGE', 'the order total is larger than an amount can be', {
      max: Number.MAX_SAFE_INTEGER,
    });

  const discounts: AppliedDiscount[] = [];
  let remaining = subtotal;
  if (input.promotion) {
    const amount = promotionDiscount(input.promotion, remaining);
    if (amount > 0) discounts.push({ source: 'promotion', code: input.promotion.code, amount });
    remaining -= amount;
  }
  const tier = input.memberTier ?? 'standard';
  const memberAmount = mulDiv(remaining, MEMBER_TIER_PERCENT[tier], 100);
  if (memberAmount > 0) discounts.push({ source: 'member', code: tier, amount: memberAmount });
  remaining -= memberAmount;

  const discount = subtotal - remaining;
  // Allocated by line subtotal, so a line's discount never exceeds its own subtotal.
  const lineDiscounts = allocate(discount, lineSubtotals);
  const lines = input.lines.map((l, i) => ({
    ...l,
    subtotal: lineSubtotals[i]!,
    discount: lineDiscounts[i]!,
    total: lineSubtotals[i]! - lineDiscounts[i]!,
  }));

  const rule = input.shippingRule ?? DEFAULT_SHIPPING_RULE;
  const shipping =
    !input.shipsPhysically || remaining >= rule.freeFrom || lines.length === 0 ? 0 : rule.flatFee;
  return { lines, discounts, amounts: { subtotal, discount, shipping, total: remaining + shipping } };
}
