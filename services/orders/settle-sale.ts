/** The sale, once paid: the held stock becomes sold and the order's locked coupon use is redeemed. */
import type { Knex } from 'knex';
import type { LocationAllocation } from '../../domain/order';
import { allocationOf, commitAll } from '../inventory/ledger';
import { redeemCoupon } from '../promotion/coupons';

/** In the caller's transaction; answers where the order's units come from. Idempotent. */
export async function settleSale(trx: Knex.Transaction, orderId: string): Promise<LocationAllocation[]> {
  await commitAll(trx, orderId, 'paid');
  await redeemCoupon(trx, orderId);
  return allocationOf(trx, orderId);
}
