/**
 * The promotion service: coupons are limited resources. A use is locked inside the placement
 * transaction, with the promotion row locked (FOR UPDATE) while the uses are counted, so however
 * many orders race for the last use, at most `maxUses` (and `perCustomerLimit` per customer)
 * hold one. Redeem and release are idempotent state changes of that one row per order.
 */
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';
import { promotionDiscount, type MemberTier, type Promotion, type PromotionKind } from '../../domain/pricing';

export interface PromotionRow {
  code: string;
  kind: PromotionKind;
  value: number;
  min_subtotal: number | null;
  max_uses: number | null;
  per_customer_limit: number | null;
  starts_at: Date | null;
  ends_at: Date | null;
  /** The currency its amounts are in; none: any order's (promotions from before, and percentages). */
  currency: string | null;
}

const ACTIVE = ['locked', 'redeemed'];

export function toPromotion(row: PromotionRow): Promotion {
  return { code: row.code, kind: row.kind, value: row.value, minSubtotal: row.min_subtotal };
}

/**
 * Checks a coupon for this order and locks one use of it. Must run in the placement transaction,
 * after the subtotal is known, so a refused order leaves no use behind.
 */
export async function lockCoupon(
  trx: Knex.Transaction,
  args: {
    code: string;
    orderId: string;
    /** The customer, within its channel: a partner's `alice` is not the web shop's. */
    customerId: string;
    channel: string;
    subtotal: number;
    /** The order's currency: a promotion whose amounts are in another is not its to use. */
    currency: string;
    now: Date;
  },
): Promise<Promotion> {
  const row: PromotionRow | undefined = await trx('promotions').where('code', args.code).forUpdate().first();
  if (!row)
    throw new BusinessRuleError('COUPON_INVALID', 'there is no such coupon', { couponCode: args.code });
  if (!promotionFits(row, args.currency))
    throw new BusinessRuleError('COUPON_INVALID', `the coupon is for orders in ${row.currency}`, {
      couponCode: args.code,
      currency: row.currency,
    });
  if (row.starts_at && args.now < row.starts_at) {
    throw new BusinessRuleError(
      'COUPON_INVALID',
      `the coupon is not valid before ${row.starts_at.toISOString()}`,
      { couponCode: args.code },
    );
  }
  if (row.ends_at && args.now >= row.ends_at) {
    throw new BusinessRuleError('COUPON_EXPIRED', `the coupon expired at ${row.ends_at.toISOString()}`, {
      couponCode: args.code,
    });
  }
  if (row.min_subtotal != null && args.subtotal < row.min_subtotal) {
    throw new BusinessRuleError(
      'COUPON_INVALID',
      `the coupon needs a subtotal of at least ${row.min_subtotal}`,
      {
        couponCode: args.code,
        minSubtotal: row.min_subtotal,
      },
    );
  }
  const counts = await trx('coupon_uses')
    .where('code', args.code)
    .whereIn('state', ACTIVE)
    .whereNot('order_id', args.orderId)
    .select(
      trx.raw('COUNT(*)::int AS total'),
      trx.raw('COUNT(*) FILTER (WHERE customer_id = ? AND channel = ?)::int AS mine', [
        args.customerId,
        args.channel,
      ]),
    )
    .first();
  if (row.max_uses != null && counts.total >= row.max_uses) {
    throw new BusinessRuleError('COUPON_EXHAUSTED', 'the coupon has no uses left', {
      couponCode: args.code,
    });
  }
  if (row.per_customer_limit != null && counts.mine >= row.per_customer_limit) {
    throw new BusinessRuleError(
      'COUPON_EXHAUSTED',
      `the coupon was already used ${counts.mine} time(s) by this customer`,
      {
        couponCode: args.code,
      },
    );
  }
  // One that takes nothing off this order (a percent of too little) is not used up on it, as an
  // edit that leaves it nothing to take gives its use back.
  if (promotionDiscount(toPromotion(row), args.subtotal) === 0)
    throw new BusinessRuleError('COUPON_INVALID', 'the coupon takes nothing off this order', {
      couponCode: args.code,
    });
  await trx('coupon_uses')
    .insert({
      code: args.code,
      order_id: args.orderId,
      customer_id: args.customerId,
      channel: args.channel,
      state: 'locked',
      // The terms the order took: a later change to the promotion does not reprice it.
      terms: JSON.stringify(toPromotion(row)),
    })
    .onConflict(['code', 'order_id'])
    .ignore();
  return toPromotion(row);
}

/** Marks the order's locked use as redeemed (payment). Idempotent. */
export async function redeemCoupon(db: Knex, orderId: string): Promise<void> {
  await db('coupon_uses')
    .where({ order_id: orderId, state: 'locked' })
    .update({ state: 'redeemed', updated_at: db.fn.now() });
}

/** Frees the order's use, locked or redeemed, for someone else (cancel, timeout, full refund). Idempotent. */
export async function releaseCoupon(db: Knex, orderId: string): Promise<void> {
  await db('coupon_uses')
    .where('order_id', orderId)
    .whereIn('state', ACTIVE)
    .update({ state: 'released', updated_at: db.fn.now() });
}

/**
 * The promotion an order's repricing counts (a modification, an edit): only while the order still
 * holds a use of it (a use released, by an earlier edit say, is not taken back by repricing), and
 * at the terms it took.
 */
export async function heldPromotion(db: Knex, orderId: string): Promise<Promotion | null> {
  const row: (PromotionRow & { terms: Promotion | null }) | undefined = await db('coupon_uses as u')
    .join('promotions as p', 'p.code', 'u.code')
    .where('u.order_id', orderId)
    .whereIn('u.state', ACTIVE)
    .first('p.*', 'u.terms');
  // At the terms the order took (uses from before kept none: the promotion as it is).
  return row ? (row.terms ?? toPromotion(row)) : null;
}

/** A promotion may price an order in `currency`: its amounts are in that currency, or it names none. */
export const promotionFits = (row: Pick<PromotionRow, 'currency'>, currency: string): boolean =>
  !row.currency || row.currency.trim() === currency.trim();

/** A customer's tier in its channel (members set without one are the web shop's). */
export async function memberTier(db: Knex, customerId: string, channel: string): Promise<MemberTier> {
  const row = await db('members').where({ channel, customer_id: customerId }).first('tier');
  return (row?.tier as MemberTier) ?? 'standard';
}

export async function promotionUsage(db: Knex, code: string): Promise<{ locked: number; redeemed: number }> {
  const rows: { state: string; n: number }[] = await db('coupon_uses')
    .where('code', code)
    .groupBy('state')
    .select('state', db.raw('COUNT(*)::int AS n'));
  const of = (s: string) => rows.find((r) => r.state === s)?.n ?? 0;
  return { locked: of('locked'), redeemed: of('redeemed') };
}
