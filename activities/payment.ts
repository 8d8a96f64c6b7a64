/** Payment: charges and refunds at the provider, each idempotent by a key derived from the workflow. */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/errors';
import type { PaymentProvider } from '../services/payment/provider';
import { TransientPaymentError } from '../services/payment/provider';
import { findCharge, refundAcrossPayments } from '../services/payment/refunds';

export const chargeKey = (orderId: string, attempt: number) => `${orderId}:charge:${attempt}`;

export function paymentActivities({ payments }: { payments: PaymentProvider }) {
  return {
    /**
     * Charges once per attempt key: a retry of this activity (a response lost on the way back)
     * finds the provider's stored outcome under the same key and never charges again.
     */
    async capturePayment(args: {
      orderId: string;
      attempt: number;
      amount: number;
      currency: string;
      token: string;
    }) {
      const result = await payments.charge({
        idempotencyKey: chargeKey(args.orderId, args.attempt),
        orderId: args.orderId,
        amount: args.amount,
        currency: args.currency,
        token: args.token,
      });
      if (result.status === 'declined') {
        throw ApplicationFailure.create({
          type: FailureType.PaymentDeclined,
          message: `payment declined: ${result.code}`,
          nonRetryable: true,
          details: [{ code: result.code }],
        });
      }
      return { paymentId: result.paymentId };
    },

    /**
     * What became of a charge whose every answer was lost: the provider's record under the
     * attempt's key. Still processing: asked again (retried) until the provider has decided.
     */
    async reconcileCharge(args: {
      orderId: string;
      attempt: number;
    }): Promise<
      { status: 'succeeded'; paymentId: string } | { status: 'declined'; code: string } | { status: 'absent' }
    > {
      const found = await findCharge(payments, args.orderId, chargeKey(args.orderId, args.attempt));
      if (!found) return { status: 'absent' };
      if (found.status === 'processing') throw new TransientPaymentError('the charge is still processing');
      return found.status === 'succeeded'
        ? { status: 'succeeded', paymentId: found.paymentId }
        : { status: 'declined', code: found.code ?? 'declined' };
    },

    /** Refunds everything captured and not yet refunded on the order; returns what this refund (`tag`) refunded. */
    async refundAll(args: { orderId: string; tag: string; reason: string }): Promise<number> {
      return refundAcrossPayments(payments, {
        orderId: args.orderId,
        refundId: args.tag,
        limit: Number.MAX_SAFE_INTEGER,
        reason: args.reason,
      });
    },

    /** Refunds exactly `amount` across the order's payments, oldest first. */
    async refundAmount(args: {
      orderId: string;
      refundId: string;
      amount: number;
      reason: string;
    }): Promise<number> {
      const refunded = await refundAcrossPayments(payments, {
        orderId: args.orderId,
        refundId: args.refundId,
        limit: args.amount,
        reason: args.reason,
      });
      if (refunded !== args.amount)
        throw new Error(`refund ${args.refundId}: only ${refunded} of ${args.amount} could be refunded`);
      return refunded;
    },
  };
}
