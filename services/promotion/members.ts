/** Member tiers: a customer's tier sets their discount (domain/pricing.ts); standard unless set. */
import type { Knex } from 'knex';
import { MEMBER_TIER_PERCENT, type MemberTier } from '../../domain/pricing';
import { memberTier } from './coupons';

export interface Membership {
  customerId: string;
  /** Whose customer: the web shop's (`web`) or a partner channel's. */
  channel: string;
  tier: MemberTier;
  discountPercent: number;
}

const membership = (customerId: string, channel: string, tier: MemberTier): Membership => ({
  customerId,
  channel,
  tier,
  discountPercent: MEMBER_TIER_PERCENT[tier],
});

export async function setMemberTier(
  db: Knex,
  customerId: string,
  channel: string,
  tier: MemberTier,
): Promise<Membership> {
  await db('members')
    .insert({ channel, customer_id: customerId, tier, updated_at: db.fn.now() })
    .onConflict(['channel', 'customer_id'])
    .merge();
  return membership(customerId, channel, tier);
}

export async function readMembership(db: Knex, customerId: string, channel: string): Promise<Membership> {
  return membership(customerId, channel, await memberTier(db, customerId, channel));
}
