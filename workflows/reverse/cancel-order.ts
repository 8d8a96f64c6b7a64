/**
 * Cancelling an order, as its own workflow (a child of the order): refund what was paid (when the
 * rule says so), give back reserved stock and the coupon, put sold-but-unshipped goods back.
 * Every step is idempotent and the whole flow runs even if the order is being cancelled.
 */
import { CancellationScope } from '@temporalio/workflow';
import { refunds, store } from '../activities';

export interface CancelOrderInput {
  orderId: string;
  refund: boolean;
  reason: string;
}

export async function cancelOrderFlow(input: CancelOrderInput): Promise<{ refunded: number }> {
  return CancellationScope.nonCancellable(async () => {
    const refunded = input.refund
      ? await refunds.refundAll({ orderId: input.orderId, tag: 'cancel', reason: input.reason })
      : 0;
    await store.releaseHolds({ orderId: input.orderId, tag: 'cancel' });
    if (input.refund) await store.restockSold({ orderId: input.orderId, tag: 'cancel' });
    return { refunded };
  });
}
