/** Member tiers: a customer's tier sets their discount (domain/pricing.ts); standard unless set. */
import type { Knex } from 'knex';
import { MEMBER_TIER_PERCENT, type MemberTier } from '../../domain/pricing';
import { memberTier } from './coupons';

export interface Membership {
  customerId: string;
  tier: MemberTier;
  discountPercent: number;
}

const membership = (customerId: string, tier: MemberTier): Membership => ({
  customerId,
  tier,
  discountPercent: MEMBER_TIER_PERCENT[tier],
});

export async function setMemberTier(db: Knex, customerId: string, tier: MemberTier): Promise<Membership> {
  await db('members')
    .insert({ customer_id: customerId, tier, updated_at: db.fn.now() })
    .onConflict('customer_id')
    .merge();
  return membership(customerId, tier);
}

export async function readMembership(db: Knex, customerId: string): Promise<Membership> {
  return membership(customerId, await memberTier(db, customerId));
}
