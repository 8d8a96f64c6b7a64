/**
 * Messages of the reverse flows: the return, claim and exchange workflows' Updates and queries,
 * and their signals with the order. A claim speaks to its order with the return's signals (its id in
 * `returnId`): to the order, both are cases that hold units until refunded or closed.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Role } from '../../domain/roles';
import type { ReceivedUnits, ReturnReason, ReturnRecord } from '../../domain/returns';
import type { LineQuantity } from '../../domain/order';
import type { ClaimKind, ClaimRecord, ClaimResolution } from '../../domain/claims';
import type { ExchangeRecord } from '../../domain/exchanges';

export type { ClaimRecord, ExchangeRecord, ReturnRecord };

export interface ReturnInput {
  returnId: string;
  orderId: string;
  customerId: string;
  items: LineQuantity[];
  reason: string;
  requestedAt: string;
  requestedBy: string;
  reasonCode?: ReturnReason;
  /** How long it may wait for a decision (twice: escalated, then closed) and for the goods; absent on returns from before. */
  windows?: { decisionMs: number; shipMs: number };
}

export interface ReturnActionRequest {
  action: 'approve' | 'reject' | 'receive';
  actor: { id: string; role: Role };
  reason?: string;
  /** `receive`: what arrived, per SKU (none named: every unit, sellable). */
  received?: ReceivedUnits[];
}

export const returnActionUpdate = defineUpdate<ReturnRecord, [ReturnActionRequest]>('returnAction');
export const returnStateQuery = defineQuery<ReturnRecord>('returnState');

/** Return → order: the goods are back, refund them (`items`: these units only; absent: all the return holds). */
export const returnReceivedSignal =
  defineSignal<[{ returnId: string; items?: LineQuantity[] }]>('returnReceived');
/** Return → order: rejected, its units are free again. */
export const returnClosedSignal = defineSignal<[{ returnId: string }]>('returnClosed');
/** Order → return: the refund was paid. */
export const returnRefundedSignal = defineSignal<[{ amount: number }]>('returnRefunded');

export interface ClaimInput {
  claimId: string;
  orderId: string;
  customerId: string;
  kind: ClaimKind;
  resolution: ClaimResolution;
  items: LineQuantity[];
  reason: string;
  requestedAt: string;
  requestedBy: string;
}

export interface ClaimActionRequest {
  action: 'approve' | 'reject' | 'ship' | 'refund_instead';
  actor: { id: string; role: Role };
  reason?: string;
  /** `approve`: settle it this way rather than as the customer asked. */
  resolution?: ClaimResolution;
  /** `ship`: the replacement's parcel. */
  shipment?: { carrier: string; trackingNumber: string };
}

export const claimActionUpdate = defineUpdate<ClaimRecord, [ClaimActionRequest]>('claimAction');
export const claimStateQuery = defineQuery<ClaimRecord>('claimState');

export interface ExchangeInput {
  record: ExchangeRecord;
  /** How soon the provider is first asked about a pending payment of the difference, then twice as long each time (the order's policy). */
  pendingPaymentPollMs: number;
  /** How long a 3-D Secure step of the difference is waited for before it is given up; absent (exchanges opened before): for ever. */
  pendingPaymentGraceMs?: number;
  /** A return's windows (RETURN_DECISION_WINDOW, RETURN_SHIP_WINDOW), from the order's policy; absent: it waits. */
  windows?: { decisionMs: number; shipMs: number };
  /** How long the payment provider remembers an idempotency key (the order's policy; absent: CHARGE_KEY_MEMORY_MS). */
  keyMemoryMs?: number;
}

export interface ExchangeActionRequest {
  action: 'approve' | 'reject' | 'receive' | 'ship' | 'cancel' | 'pay';
  actor: { id: string; role: Role };
  reason?: string;
  /** `receive`: what arrived, per SKU (none named: every unit, sellable). */
  received?: ReceivedUnits[];
  /** `ship`: the new units' parcel. */
  shipment?: { carrier: string; trackingNumber: string };
  /** `pay`: the customer's payment method for the difference. */
  paymentToken?: string;
}

export const exchangeActionUpdate = defineUpdate<ExchangeRecord, [ExchangeActionRequest]>('exchangeAction');
export const exchangeStateQuery = defineQuery<ExchangeRecord>('exchangeState');
/** Provider → exchange (a webhook): a pending payment of the difference was decided. */
export const exchangePaymentSignal =
  defineSignal<[{ paymentId: string; status: 'succeeded' | 'authorized' | 'declined'; code?: string }]>(
    'exchangePayment',
  );

/**
 * Exchange or claim → order: its new units left (`shipment`: an exchange's, a claim's
 * replacement), or an exchange ended (`revert`: rejected or cancelled, its returned units are the
 * order's again). Its refund is asked with `returnReceivedSignal`.
 */
export interface CaseNews {
  caseId: string;
  /** Absent: an exchange's. */
  kind?: 'claim';
  shipment?: { carrier: string; trackingNumber: string; items: LineQuantity[] };
  closed?: { revert: boolean };
}
export const caseNewsSignal = defineSignal<[CaseNews]>('caseNews');
