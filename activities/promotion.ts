/** Promotion: the coupon use placement locked becomes a redemption once the order is paid, and is given back when all of it is refunded. */
import type { Knex } from 'knex';
import { redeemCoupon, releaseCoupon } from '../services/promotion/coupons';

export function promotionActivities({ db }: { db: Knex }) {
  return {
    async redeemCoupon(args: { orderId: string }): Promise<void> {
      await redeemCoupon(db, args.orderId);
    },

    /** The order was refunded in full: its coupon use counts no more (idempotent). */
    async releaseCoupon(args: { orderId: string }): Promise<void> {
      await releaseCoupon(db, args.orderId);
    },
  };
}
