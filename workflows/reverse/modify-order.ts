/**
 * Modifying an order, as its own workflow (a child of the order): fewer items repriced (stock
 * no longer needed released, the coupon released if its minimum is no longer met), and money
 * paid beyond the new total refunded (and recorded as a refund). Increases are not modifications: they are new orders, so
 * nothing is ever re-authorised.
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import { refunds, store } from '../activities';
import type { ModifiedItems, LineQuantity } from '../../domain/order';

export interface ModifyOrderInput {
  orderId: string;
  items: LineQuantity[];
  tag: string;
  /** What has been paid so far and not refunded (a presale deposit, less earlier modifications' refunds). */
  paid: number;
  /** The payments the order took: read by id when the provider's list does not show one yet. */
  payments?: string[];
}

export async function modifyOrderFlow(
  input: ModifyOrderInput,
): Promise<ModifiedItems & { refunded: number; short?: number }> {
  return CancellationScope.nonCancellable(async () => {
    const modified = await store.modifyItems({ orderId: input.orderId, items: input.items, tag: input.tag });
    // Paid more than is now due at this step (a deposit above the new deposit): the difference goes back.
    const due = modified.presale ? modified.presale.deposit : modified.amounts.total;
    const over = input.paid - due;
    // What the payments cannot give (refunded or disputed outside this service) is not retried
    // for good: the modification stands, and the order is flagged for the rest.
    const shortIsAnswer = over > 0 && patched('order-refund-short-recorded');
    const refunded =
      over > 0
        ? await refunds.refundAmount({
            orderId: input.orderId,
            refundId: input.tag,
            amount: over,
            reason: 'order modified',
            ...(input.payments ? { known: input.payments } : {}),
            ...(shortIsAnswer ? { shortIsAnswer } : {}),
          })
        : 0;
    // Recorded as any other refund is (`GET /v1/refunds?source=modify`, `refund.succeeded`), under
    // the refund's own id: modifications before this rule refunded without a record.
    if (refunded > 0 && patched('modify-records-refund'))
      await store.recordRefund({
        // The order's own: a tag (`modify<n>`) names the modification within its order only.
        refundId: `${input.orderId}:${input.tag}`,
        orderId: input.orderId,
        source: 'modify',
        plan: { lines: [], shipping: 0, amount: refunded, completesOrder: false },
        reason: 'order modified',
        at: new Date().toISOString(),
      });
    return { ...modified, refunded, ...(refunded < over ? { short: over - refunded } : {}) };
  });
}
