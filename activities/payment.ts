/** Payment: charges and refunds at the provider, each idempotent by a key derived from the workflow. */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../domain/errors';
import type { PaymentProvider } from '../services/payment/provider';
import type { PaymentRecord } from '../services/payment/provider';
import { findCharge, refundAcrossPayments, refundKey } from '../services/payment/refunds';

/** A charge as the workflow sees it: settled one way or the other, still pending, or never made. */
export type ChargeOutcome =
  | { status: 'succeeded'; paymentId: string; method?: string }
  | { status: 'declined'; paymentId: string; code: string }
  | { status: 'pending'; paymentId: string; method?: string; nextAction?: { redirectUrl: string } }
  | { status: 'absent' };

function outcomeOf(record: PaymentRecord): ChargeOutcome {
  if (record.status === 'succeeded')
    return { status: 'succeeded', paymentId: record.paymentId, method: record.method };
  if (record.status === 'declined' || record.status === 'canceled')
    return { status: 'declined', paymentId: record.paymentId, code: record.code ?? record.status };
  return {
    status: 'pending',
    paymentId: record.paymentId,
    method: record.method,
    ...(record.nextAction ? { nextAction: record.nextAction } : {}),
  };
}

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
      if (result.status === 'pending')
        return {
          paymentId: result.paymentId,
          status: 'pending' as const,
          method: result.method,
          nextAction: result.nextAction,
        };
      if (result.status === 'declined') {
        throw ApplicationFailure.create({
          type: FailureType.PaymentDeclined,
          message: `payment declined: ${result.code}`,
          nonRetryable: true,
          details: [{ code: result.code }],
        });
      }
      return { paymentId: result.paymentId, status: 'succeeded' as const, method: result.method };
    },

    /**
     * What became of a charge: the provider's record under the attempt's key. For an answer that
     * never came (nothing recorded: it never happened), and for a pending charge, asked again.
     */
    async reconcileCharge(args: { orderId: string; attempt: number }): Promise<ChargeOutcome> {
      const found = await findCharge(payments, args.orderId, chargeKey(args.orderId, args.attempt));
      return found ? outcomeOf(found) : { status: 'absent' };
    },

    /** Gives up a charge waiting for the customer (3-D Secure); answers what it is now (it may have succeeded). */
    async cancelPayment(args: { orderId: string; paymentId: string }): Promise<ChargeOutcome> {
      return outcomeOf(await payments.cancel(args.paymentId));
    },

    /** Refunds one payment in full (a payment that succeeded after its order was cancelled), once per refund id. */
    async refundPayment(args: {
      orderId: string;
      paymentId: string;
      refundId: string;
      amount: number;
      reason: string;
    }): Promise<number> {
      const refund = await payments.refund({
        idempotencyKey: refundKey(args.orderId, args.refundId, args.paymentId),
        paymentId: args.paymentId,
        orderId: args.orderId,
        amount: args.amount,
        reason: args.reason,
      });
      return refund.amount;
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
