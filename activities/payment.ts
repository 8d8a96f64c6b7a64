/** Payment: charges and refunds at the provider, each idempotent by a key derived from the workflow. */
import { ApplicationFailure } from '@temporalio/common';
import { BusinessRuleError, FailureType } from '../domain/errors';
import type { PaymentProvider } from '../services/payment/provider';
import type { PaymentRecord, PaymentRisk } from '../services/payment/provider';
import {
  findCharge,
  listedOrKnown,
  refundAcrossPayments,
  refundKey,
  RefundShort,
} from '../services/payment/refunds';

/**
 * A charge as the workflow sees it: settled one way or the other, still pending, or never made.
 * `amount` is the provider's, on a charge looked up (one whose request may have been other than
 * the order's now: ../workflows/order/order-entity.ts, `lostCharge`).
 */
export type ChargeOutcome =
  | { status: 'succeeded'; paymentId: string; method?: string; risk?: PaymentRisk; amount?: number }
  | {
      status: 'authorized';
      paymentId: string;
      method?: string;
      captureBefore: string;
      risk?: PaymentRisk;
      amount?: number;
    }
  | { status: 'declined'; paymentId: string; code: string }
  | {
      status: 'pending';
      paymentId: string;
      method?: string;
      nextAction?: { redirectUrl: string };
      amount?: number;
    }
  | { status: 'absent' };

function outcomeOf(record: PaymentRecord): ChargeOutcome {
  const risk = record.risk ? { risk: record.risk } : {};
  const { amount } = record;
  if (record.status === 'succeeded')
    return { status: 'succeeded', paymentId: record.paymentId, method: record.method, ...risk, amount };
  if (record.status === 'authorized')
    return {
      status: 'authorized',
      paymentId: record.paymentId,
      method: record.method,
      captureBefore: record.captureBefore!, // the adapter says when every hold ends
      ...risk,
      amount,
    };
  if (record.status === 'declined' || record.status === 'canceled')
    return { status: 'declined', paymentId: record.paymentId, code: record.code ?? record.status };
  return {
    status: 'pending',
    paymentId: record.paymentId,
    method: record.method,
    ...(record.nextAction ? { nextAction: record.nextAction } : {}),
    amount,
  };
}

export const chargeKey = (orderId: string, attempt: number) => `${orderId}:charge:${attempt}`;
const captureKey = (orderId: string, paymentId: string) => `${orderId}:capture:${paymentId}`;

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
      /** `manual`: authorise now, capture at shipment. */
      capture?: 'manual';
    }) {
      const result = await payments.charge({
        idempotencyKey: chargeKey(args.orderId, args.attempt),
        orderId: args.orderId,
        amount: args.amount,
        currency: args.currency,
        token: args.token,
        ...(args.capture ? { capture: args.capture } : {}),
      });
      const risk = result.status === 'succeeded' || result.status === 'authorized' ? result.risk : undefined;
      if (result.status === 'authorized')
        return {
          paymentId: result.paymentId,
          status: 'authorized' as const,
          method: result.method,
          captureBefore: result.captureBefore,
          ...(risk ? { risk } : {}),
        };
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
      return {
        paymentId: result.paymentId,
        status: 'succeeded' as const,
        method: result.method,
        ...(risk ? { risk } : {}),
      };
    },

    /**
     * What became of a charge: the provider's record under the attempt's key. For an answer that
     * never came (nothing recorded: it never happened), and for a pending charge, asked again.
     */
    async reconcileCharge(args: { orderId: string; attempt: number }): Promise<ChargeOutcome> {
      const found = await findCharge(payments, args.orderId, chargeKey(args.orderId, args.attempt));
      return found ? outcomeOf(found) : { status: 'absent' };
    },

    /**
     * Captures `amount` of an authorisation (the rest is released), once per payment. A refusal
     * (expired, declined) is non-retryable and names the provider's code; no answer is retried.
     */
    async captureAuthorized(args: { orderId: string; paymentId: string; amount: number }): Promise<number> {
      const result = await payments.capture({
        idempotencyKey: captureKey(args.orderId, args.paymentId),
        paymentId: args.paymentId,
        amount: args.amount,
      });
      if (result.status === 'failed')
        throw ApplicationFailure.create({
          type: FailureType.CaptureFailed,
          message: `capture refused: ${result.code}`,
          nonRetryable: true,
          details: [{ code: result.code }],
        });
      return result.amount;
    },

    /**
     * Voids every authorisation of the order still held (a cancel); returns what was released.
     * `known`: the order's own payments, read by id if its list leaves one out.
     */
    async voidAuthorizations(args: { orderId: string; known?: string[] }): Promise<number> {
      let voided = 0;
      for (const p of await listedOrKnown(payments, args.orderId, args.known ?? [])) {
        if (p.status !== 'authorized') continue;
        const after = await payments.cancel(p.paymentId);
        if (after.status === 'canceled') voided += p.amount;
      }
      return voided;
    },

    /** One payment as the provider has it now (a capture that got no answer: taken, or still held?). */
    async lookupPayment(args: {
      orderId: string;
      paymentId: string;
    }): Promise<{ status: PaymentRecord['status'] | 'absent'; amount: number }> {
      // By its id: the order's list is a search that may not show a payment just made (a renewal).
      const found = await payments.payment(args.paymentId);
      return found ? { status: found.status, amount: found.amount } : { status: 'absent', amount: 0 };
    },

    /** Gives up a charge waiting for the customer (3-D Secure); answers what it is now (it may have succeeded). */
    async cancelPayment(args: { orderId: string; paymentId: string }): Promise<ChargeOutcome> {
      return outcomeOf(await payments.cancel(args.paymentId));
    },

    /**
     * Refunds one payment in full (a payment that succeeded after its order was cancelled), once per
     * refund id. `onlyWhatIsLeft`: a payment found late, which another refund of the order (a
     * cancel's, of all the provider lists) may have taken back already: only what is left of it.
     */
    async refundPayment(args: {
      orderId: string;
      paymentId: string;
      refundId: string;
      amount: number;
      reason: string;
      onlyWhatIsLeft?: boolean;
    }): Promise<number> {
      const idempotencyKey = refundKey(args.orderId, args.refundId, args.paymentId);
      let amount = args.amount;
      if (args.onlyWhatIsLeft) {
        const [paid, refundsOfPayment] = await Promise.all([
          payments.payment(args.paymentId),
          payments.refundsOfPayment(args.paymentId),
        ]);
        // This refund's own, made by an earlier try: its amount, as a retried refund answers (the
        // payment's own list: the order's may lag behind the payment's refunded amount read here).
        const earlier = refundsOfPayment.find((r) => r.idempotencyKey === idempotencyKey);
        if (earlier) return earlier.amount;
        if (paid) amount = Math.min(amount, Math.max(0, paid.amount - paid.refunded));
        if (amount === 0) return 0;
      }
      const refund = await payments.refund({
        idempotencyKey,
        paymentId: args.paymentId,
        orderId: args.orderId,
        amount,
        reason: args.reason,
      });
      return refund.amount;
    },

    /** Refunds everything captured and not yet refunded on the order; returns what this refund (`tag`) refunded. */
    async refundAll(args: {
      orderId: string;
      tag: string;
      reason: string;
      leave?: string[];
      /** The order's own payments, read by id if its list leaves one out. */
      known?: string[];
    }): Promise<number> {
      return refundAcrossPayments(payments, {
        orderId: args.orderId,
        refundId: args.tag,
        limit: Number.MAX_SAFE_INTEGER,
        reason: args.reason,
        ...(args.leave ? { leave: args.leave } : {}),
        ...(args.known ? { known: args.known } : {}),
      });
    },

    /** Refunds exactly `amount` across the order's payments, oldest first. */
    async refundAmount(args: {
      orderId: string;
      refundId: string;
      amount: number;
      reason: string;
      /** The order's own payments, read by id if its list leaves one out. */
      known?: string[];
      /** A client's refund: refused (a 422 `AMOUNT_TOO_LARGE` with `refundable`) when the payments cannot give it all. */
      refuseShort?: boolean;
      /**
       * The order's own refund (a return's, an edit's): when the payments cannot give it all
       * (refunded or disputed outside this service), what they gave is the answer, not a failure
       * retried for good with the order's lock held.
       */
      shortIsAnswer?: boolean;
    }): Promise<number> {
      let refunded: number;
      try {
        refunded = await refundAcrossPayments(payments, {
          orderId: args.orderId,
          refundId: args.refundId,
          limit: args.amount,
          reason: args.reason,
          ...(args.known ? { known: args.known } : {}),
          ...(args.refuseShort ? { refuseShort: true } : {}),
        });
      } catch (err) {
        if (!(err instanceof RefundShort)) throw err;
        throw new BusinessRuleError(
          'AMOUNT_TOO_LARGE',
          'the payment provider cannot refund this much: some of the payment was refunded or disputed outside this service',
          { refundable: err.available },
        );
      }
      if (refunded !== args.amount && !(args.shortIsAnswer && refunded < args.amount))
        throw new Error(`refund ${args.refundId}: only ${refunded} of ${args.amount} could be refunded`);
      return refunded;
    },
  };
}
