/**
 * The payment provider interface the activities depend on: four calls a real provider's adapter
 * implements (./http-provider.ts speaks to the sandbox payment service, sandboxes/payments; a
 * Stripe adapter would be one file of the same shape). Every write carries the idempotency key
 * the workflow derives, and every record read back carries it too (as metadata), which is how an
 * answer that never came is looked up instead of guessed.
 */
export interface ChargeRequest {
  idempotencyKey: string;
  orderId: string;
  amount: number;
  currency: string;
  token: string;
}

export type ChargeResult =
  | { status: 'succeeded'; paymentId: string; amount: number }
  | { status: 'declined'; paymentId: string; code: string };

export interface RefundRequest {
  idempotencyKey: string;
  paymentId: string;
  orderId: string;
  amount: number;
  reason: string;
}

/** One charge attempt as the provider recorded it. */
export interface PaymentRecord {
  paymentId: string;
  idempotencyKey: string;
  /** `processing`: the provider has it and has not decided yet. */
  status: 'succeeded' | 'declined' | 'processing';
  amount: number;
  refunded: number;
  code?: string;
}

export interface RefundRecord {
  refundId: string;
  paymentId: string;
  idempotencyKey: string;
  amount: number;
}

export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<{ refundId: string; amount: number }>;
  /** Every charge attempt of an order, oldest first. */
  paymentsOf(orderId: string): Promise<PaymentRecord[]>;
  /** Every refund of an order, oldest first. */
  refundsOf(orderId: string): Promise<RefundRecord[]>;
}

/** A failure worth retrying with the same key (no answer, a provider hiccup): its outcome is unknown. */
export class TransientPaymentError extends Error {
  override name = 'TransientPaymentError';
}
