/** Promotion: the coupon use placement locked becomes a redemption once the order is paid. */
import type { Knex } from 'knex';
import { redeemCoupon } from '../services/promotion/coupons';

export function promotionActivities({ db }: { db: Knex }) {
  return {
    async redeemCoupon(args: { orderId: string }): Promise<void> {
      await redeemCoupon(db, args.orderId);
    },
  };
}
