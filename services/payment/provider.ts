/**
 * The payment provider interface the activities depend on: the calls a real provider's adapter
 * implements (./http-provider.ts speaks to the sandbox payment service, sandboxes/payments; a
 * Stripe adapter would be one file of the same shape). Every write carries the idempotency key
 * the workflow derives, and every record read back carries it too (as metadata), which is how an
 * answer that never came is looked up instead of guessed.
 */
import type { PaymentRisk } from '../../domain/order';

export type { PaymentRisk };
export interface ChargeRequest {
  idempotencyKey: string;
  orderId: string;
  amount: number;
  currency: string;
  token: string;
  /** `manual`: authorise only, captured later by `capture` (a bank transfer cannot be held: it settles captured). */
  capture?: 'automatic' | 'manual';
}

/** What the customer must do for a pending charge: open this page (3-D Secure). */
export interface NextAction {
  redirectUrl: string;
}

export type ChargeResult =
  | { status: 'succeeded'; paymentId: string; amount: number; method: string; risk?: PaymentRisk }
  /** Held on the customer's account, to be captured before `captureBefore` (ISO 8601). */
  | {
      status: 'authorized';
      paymentId: string;
      amount: number;
      method: string;
      captureBefore: string;
      risk?: PaymentRisk;
    }
  | { status: 'declined'; paymentId: string; code: string }
  /** Not decided yet: an asynchronous method, or a step the customer must take; settled later (a webhook, a lookup). */
  | { status: 'pending'; paymentId: string; method: string; nextAction?: NextAction };

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
  /** `processing`: the provider has it and has not decided yet; `requires_action`: the customer must act. */
  status: 'succeeded' | 'authorized' | 'declined' | 'processing' | 'requires_action' | 'canceled';
  /** What was captured (succeeded), or what is held (authorized), or asked for. */
  amount: number;
  refunded: number;
  /** The kind of method (`card`, `bank_transfer`), as the provider reports it. */
  method: string;
  code?: string;
  nextAction?: NextAction;
  /** An authorisation's end (ISO 8601): set on every `authorized` record. */
  captureBefore?: string;
  risk?: PaymentRisk;
}

/** A capture's answer: taken, or refused for good (the authorisation expired, the issuer declined). */
export type CaptureResult = { status: 'succeeded'; amount: number } | { status: 'failed'; code: string };

export interface RefundRecord {
  refundId: string;
  paymentId: string;
  idempotencyKey: string;
  amount: number;
}

export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<{ refundId: string; amount: number }>;
  /** Captures an authorisation, `amount` of it (the rest is released); a replay answers the same. */
  capture(request: { idempotencyKey: string; paymentId: string; amount: number }): Promise<CaptureResult>;
  /**
   * Gives up a charge still waiting for the customer, or voids an authorisation; its record as it
   * then stands (it may have succeeded meanwhile).
   */
  cancel(paymentId: string): Promise<PaymentRecord>;
  /**
   * Every charge attempt of an order, oldest first. It may come from a search that lags behind
   * the provider's writes (Stripe's search by metadata, up to about a minute): a payment the order
   * knows by id is read with `payment` when it is not listed.
   */
  paymentsOf(orderId: string): Promise<PaymentRecord[]>;
  /** One payment by its id, as the provider has it now (never behind); null if it has none such. */
  payment(paymentId: string): Promise<PaymentRecord | null>;
  /**
   * Every refund of an order. It may come from a search index that lags behind the provider's
   * writes (the sandbox's can be put behind); a Stripe adapter, which cannot search refunds, lists
   * each of the order's intents' refunds.
   */
  refundsOf(orderId: string): Promise<RefundRecord[]>;
  /**
   * Every refund of one payment, as the provider keeps them with the payment: a plain list, never
   * behind its writes (Stripe: `GET /v1/refunds?payment_intent=`, every page).
   */
  refundsOfPayment(paymentId: string): Promise<RefundRecord[]>;
}

/** What a provider's event says of a charge: it was made, or it will not be. */
export interface ChargeNews {
  paymentId: string;
  status: 'succeeded' | 'authorized' | 'declined';
  code?: string;
  captureBefore?: string;
}

/** A failure worth retrying with the same key (no answer, a provider hiccup): its outcome is unknown. */
export class TransientPaymentError extends Error {
  override name = 'TransientPaymentError';
}
