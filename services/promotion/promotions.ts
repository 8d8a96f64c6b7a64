/** Promotions as merchants and support write and read them; coupons.ts locks and redeems their uses. */
import type { Knex } from 'knex';
import { NotFoundError } from '../../domain/errors';
import type { PromotionKind } from '../../domain/pricing';
import { promotionUsage, type PromotionRow } from './coupons';

export interface PromotionInput {
  kind: PromotionKind;
  value: number;
  minSubtotal?: number;
  maxUses?: number;
  perCustomerLimit?: number;
  startsAt?: string;
  endsAt?: string;
  /** The currency of its amounts; none: any order's. */
  currency?: string;
}

/** Creates or replaces a promotion; true if it was created. */
export async function putPromotion(db: Knex, code: string, promotion: PromotionInput): Promise<boolean> {
  const [result] = await db('promotions')
    .insert({
      code,
      kind: promotion.kind,
      value: promotion.value,
      min_subtotal: promotion.minSubtotal ?? null,
      max_uses: promotion.maxUses ?? null,
      per_customer_limit: promotion.perCustomerLimit ?? null,
      starts_at: promotion.startsAt ?? null,
      ends_at: promotion.endsAt ?? null,
      currency: promotion.currency ?? null,
      updated_at: db.fn.now(),
    })
    .onConflict('code')
    .merge()
    .returning(db.raw('(xmax = 0) AS inserted'));
  return Boolean((result as { inserted?: boolean })?.inserted);
}

export async function readPromotion(db: Knex, code: string) {
  const row: (PromotionRow & { updated_at: Date }) | undefined = await db('promotions')
    .where('code', code)
    .first();
  if (!row) throw new NotFoundError(`promotion ${code}`);
  const usage = await promotionUsage(db, code);
  return {
    code: row.code,
    kind: row.kind,
    value: row.value,
    minSubtotal: row.min_subtotal ?? undefined,
    maxUses: row.max_uses ?? undefined,
    perCustomerLimit: row.per_customer_limit ?? undefined,
    startsAt: row.starts_at?.toISOString(),
    endsAt: row.ends_at?.toISOString(),
    currency: row.currency?.trim() ?? undefined,
    // Uses held by unpaid orders count: they are promised to those orders until released.
    used: usage.locked + usage.redeemed,
    redeemed: usage.redeemed,
    updatedAt: row.updated_at.toISOString(),
  };
}
