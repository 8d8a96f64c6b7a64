/**
 * A refund of some or all units of an order, as its own workflow (a child of the order): the
 * money back through the provider, units that never shipped back in stock, the coupon and a
 * digital code given up when nothing is left, and the order center's record. The amounts were planned by the order (domain/refunds.ts).
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import { planAsRefunded, type RefundPlan } from '../../domain/refunds';
import { refunds, store } from '../activities';

export interface RefundOrderInput {
  orderId: string;
  refundId: string;
  plan: RefundPlan;
  reason: string;
  source: 'refund' | 'return' | 'claim' | 'exchange';
  /** Units refunded before they shipped go back on hand; returned goods were restocked on receipt. */
  restock: boolean;
  /** A partly shipped order's: just these units go back on hand (those not yet shipped). */
  restockItems?: { sku: string; quantity: number }[];
  /**
   * Units warehouse locations refused to send (an order partly shipped, or one every location
   * refused): written off there, not put back on hand (nor by a later cancel).
   */
  writeOffUnsent?: { items: { sku: string; quantity: number }[]; locations: string[] };
  at: string;
  /**
   * The order's payment is only held (captured at shipment): nothing is sent back, the capture
   * will be smaller; a refund of everything voids the hold. Absent on orders that never held one.
   */
  fromHold?: boolean;
  /** Held, and this refund takes what is left of the hold without closing the order (goodwill): it is voided too. */
  voidHold?: boolean;
  /** The order was paid in another order system (imported): this channel owes the refund; nothing goes to the provider. */
  owedBy?: string;
  /** The payments the order took or holds: read by id when the provider's list does not show one yet. */
  payments?: string[];
}

export async function refundOrderFlow(
  input: RefundOrderInput,
): Promise<{ refundId: string; amount: number; codeVoidRefused?: number; short?: number }> {
  return CancellationScope.nonCancellable(async () => {
    let plan = input.plan;
    if (input.fromHold) {
      if (input.plan.completesOrder || input.voidHold)
        await refunds.voidAuthorizations({
          orderId: input.orderId,
          ...(input.payments ? { known: input.payments } : {}),
        });
    } else if (input.owedBy) {
      // Recorded below as owed by the source channel, with an event that says so.
    } else if (input.plan.amount > 0) {
      // A client's refund the payments cannot give is refused; the order's own (a return's, a
      // claim's, an exchange's) gives what they can, and the order is flagged for the rest.
      const own = input.source !== 'refund' && patched('order-refund-short-recorded');
      const refunded = await refunds.refundAmount({
        orderId: input.orderId,
        refundId: input.refundId,
        amount: input.plan.amount,
        reason: input.reason,
        ...(input.payments ? { known: input.payments } : {}),
        ...(input.source === 'refund' ? { refuseShort: true } : {}),
        ...(own ? { shortIsAnswer: true } : {}),
      });
      if (own && refunded < plan.amount) plan = planAsRefunded(plan, refunded);
    }
    if (input.restock) {
      await store.restockItems({
        orderId: input.orderId,
        items: input.plan.lines.map(({ sku, quantity }) => ({ sku, quantity })),
        tag: input.refundId,
      });
    } else if (input.restockItems?.length) {
      await store.restockItems({ orderId: input.orderId, items: input.restockItems, tag: input.refundId });
    } else if (input.writeOffUnsent?.items.length) {
      await store.writeOffUnsent({ orderId: input.orderId, ...input.writeOffUnsent, tag: input.refundId });
    }
    // Refunded in full: the coupon use is given back and a digital code voided, as a cancel would.
    let codeVoidRefused: number | undefined;
    if (input.plan.completesOrder && patched('full-refund-keeps-promises')) {
      await store.releaseCoupon({ orderId: input.orderId });
      // The vendor may refuse (a code already redeemed): the refund stands, the order says so.
      codeVoidRefused = (
        await store.voidDeliveryCode({ orderId: input.orderId, at: input.at, refusalIsAnswer: true })
      )?.refused;
    }
    await store.recordRefund({
      refundId: input.refundId,
      orderId: input.orderId,
      source: input.source,
      plan,
      reason: input.reason,
      at: input.at,
      ...(input.owedBy ? { owedBy: input.owedBy } : {}),
    });
    return {
      refundId: input.refundId,
      amount: plan.amount,
      ...(codeVoidRefused !== undefined ? { codeVoidRefused } : {}),
      ...(plan.amount < input.plan.amount ? { short: input.plan.amount - plan.amount } : {}),
    };
  });
}
