/** Promotions (coupons) and member tiers: set by merchants and support. */
import { Router } from 'express';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { MEMBER_TIER_PERCENT, type MemberTier } from '../../domain/pricing';
import { promotionUsage, type PromotionRow } from '../../services/promotion/coupons';
import { requireRole } from '../auth';
import { route } from '../problem';
import { customerIdParam, memberBody, promotionBody, promotionCodeParam } from '../schemas';

async function readPromotion(db: Db, code: string) {
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
    // Uses held by unpaid orders count: they are promised to those orders until released.
    used: usage.locked + usage.redeemed,
    redeemed: usage.redeemed,
    updatedAt: row.updated_at.toISOString(),
  };
}

export function promotionRoutes(db: Db): Router {
  const router = Router();
  router.put(
    '/:code',
    requireRole('merchant', 'support'),
    route(async (req, res) => {
      const code = promotionCodeParam.parse(req.params.code);
      const body = promotionBody.parse(req.body);
      const row = {
        code,
        kind: body.kind,
        value: body.value,
        min_subtotal: body.minSubtotal ?? null,
        max_uses: body.maxUses ?? null,
        per_customer_limit: body.perCustomerLimit ?? null,
        starts_at: body.startsAt ?? null,
        ends_at: body.endsAt ?? null,
        updated_at: db.fn.now(),
      };
      const [result] = await db('promotions')
        .insert(row)
        .onConflict('code')
        .merge()
        .returning(db.raw('(xmax = 0) AS inserted'));
      res
        .status((result as { inserted?: boolean })?.inserted ? 201 : 200)
        .json(await readPromotion(db, code));
    }),
  );
  router.get(
    '/:code',
    requireRole('merchant', 'support'),
    route(async (req, res) => {
      res.json(await readPromotion(db, promotionCodeParam.parse(req.params.code)));
    }),
  );
  return router;
}

export function memberRoutes(db: Db): Router {
  const router = Router();
  const view = (customerId: string, tier: MemberTier) => ({
    customerId,
    tier,
    discountPercent: MEMBER_TIER_PERCENT[tier],
  });
  router.put(
    '/:customerId',
    requireRole('merchant', 'support'),
    route(async (req, res) => {
      const customerId = customerIdParam.parse(req.params.customerId);
      const { tier } = memberBody.parse(req.body);
      await db('members')
        .insert({ customer_id: customerId, tier, updated_at: db.fn.now() })
        .onConflict('customer_id')
        .merge();
      res.json(view(customerId, tier));
    }),
  );
  router.get(
    '/:customerId',
    requireRole('merchant', 'support'),
    route(async (req, res) => {
      const customerId = customerIdParam.parse(req.params.customerId);
      const row = await db('members').where('customer_id', customerId).first('tier');
      res.json(view(customerId, (row?.tier as MemberTier) ?? 'standard'));
    }),
  );
  return router;
}
