/**
 * A confirmed order edit, applied as its own workflow (a child of the order, like a
 * modification's): the stock moves and the lines in one transaction, then what a paid order was
 * paid beyond its new total refunded. The order held the added units and charged what they cost
 * before starting it. Not cancellable: once the charge is taken, the edit is applied.
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import { refunds, store } from '../activities';

export interface EditOrderInput {
  orderId: string;
  editId: string;
  /** The order had been paid: units it adds are sold, units it drops put back on hand. */
  paid: boolean;
  /** What a paid order was paid beyond its new total. */
  refund: number;
  reason: string;
  at: string;
  /** The order was paid in another order system (imported): that channel owes the refund. */
  owedBy?: string;
  /** The payments the order took: read by id when the provider's list does not show one yet. */
  payments?: string[];
}

export async function editOrderFlow(input: EditOrderInput) {
  return CancellationScope.nonCancellable(async () => {
    const applied = await store.applyEdit({ orderId: input.orderId, editId: input.editId, paid: input.paid });
    if (!input.paid || input.refund <= 0) return { ...applied, refunded: 0 };
    const refundId = `edit-${input.editId}`;
    let refunded = input.refund;
    if (!input.owedBy) {
      // What the payments cannot give (refunded or disputed outside this service) is not retried
      // for good: the edit stands, what they gave is recorded, and the order is flagged for the rest.
      const shortIsAnswer = patched('order-refund-short-recorded');
      refunded = await refunds.refundAmount({
        orderId: input.orderId,
        refundId,
        amount: input.refund,
        reason: input.reason,
        ...(input.payments ? { known: input.payments } : {}),
        ...(shortIsAnswer ? { shortIsAnswer } : {}),
      });
      if (!shortIsAnswer) refunded = input.refund;
    }
    const plan = { lines: [], shipping: 0, amount: refunded, completesOrder: false };
    await store.recordRefund({
      refundId,
      orderId: input.orderId,
      source: 'edit',
      plan,
      reason: input.reason,
      at: input.at,
      ...(input.owedBy ? { owedBy: input.owedBy } : {}),
    });
    return {
      ...applied,
      refunded,
      ...(refunded < input.refund ? { short: input.refund - refunded } : {}),
    };
  });
}
