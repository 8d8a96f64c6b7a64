/**
 * Cancelling an order, as its own workflow (a child of the order): refund what was paid (when the
 * rule says so), give back reserved stock and the coupon, put sold-but-unshipped goods back.
 * Every step is idempotent and the whole flow runs even if the order is being cancelled.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { LineQuantity, LocationAllocation } from '../../domain/order';
import type { RefundPlan } from '../../domain/refunds';
import { refunds, store } from '../activities';

export interface CancelOrderInput {
  orderId: string;
  refund: boolean;
  reason: string;
  /** Payments the refund leaves alone: charges still pending, which the order settles itself. */
  leave?: string[];
  /** The payments the order took or holds: read by id when the provider's list does not show one yet. */
  payments?: string[];
  /** The order holds an authorisation (capture at shipment): it is voided. Absent on orders that never held one. */
  voidAuthorizations?: boolean;
  /** Parcels that had left and were asked back: restocked when they arrive, not now. */
  stillOut?: (LocationAllocation & { missing: LineQuantity[] })[];
  /** Paid in another order system (imported): what is left is owed back by that channel, not refunded here. */
  owed?: { channel: string; plan: RefundPlan; at: string };
}

export async function cancelOrderFlow(
  input: CancelOrderInput,
): Promise<{ refunded: number; voided?: number }> {
  return CancellationScope.nonCancellable(async () => {
    const { owed } = input;
    const refunded = owed
      ? owed.plan.amount
      : input.refund
        ? await refunds.refundAll({
            orderId: input.orderId,
            tag: 'cancel',
            reason: input.reason,
            ...(input.leave?.length ? { leave: input.leave } : {}),
            ...(input.payments ? { known: input.payments } : {}),
          })
        : 0;
    if (owed)
      await store.recordRefund({
        refundId: `${input.orderId}:cancel`,
        orderId: input.orderId,
        source: 'cancel',
        plan: owed.plan,
        reason: input.reason,
        at: owed.at,
        owedBy: owed.channel,
      });
    // The money was only held: letting it go is the refund.
    const voided = input.voidAuthorizations
      ? await refunds.voidAuthorizations({
          orderId: input.orderId,
          ...(input.payments ? { known: input.payments } : {}),
        })
      : undefined;
    await store.releaseHolds({ orderId: input.orderId, tag: 'cancel' });
    if (input.refund)
      await store.restockSold({
        orderId: input.orderId,
        tag: 'cancel',
        ...(input.stillOut?.length ? { stillOut: input.stillOut } : {}),
      });
    return { refunded, ...(voided !== undefined ? { voided } : {}) };
  });
}
