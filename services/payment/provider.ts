/**
 * The payment provider interface the activities depend on. The sandbox (./sandbox.ts) implements
 * it on PostgreSQL; a real provider (Stripe, Adyen) would implement the same four calls, each
 * idempotent by the key the workflow derives.
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

export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<{ refundId: string; amount: number }>;
  lookup(idempotencyKey: string): Promise<ChargeResult | null>;
  lookupRefund(idempotencyKey: string): Promise<{ refundId: string; amount: number } | null>;
  /**
   * Every successful payment of an order, oldest first, with what is left to refund on it;
   * fully refunded ones too (refundable 0), so a retried refund can look up what it already did.
   */
  refundable(orderId: string): Promise<{ paymentId: string; refundable: number }[]>;
}

/** A failure worth retrying with the same key (network, provider hiccup). */
export class TransientPaymentError extends Error {
  override name = 'TransientPaymentError';
}
