/** Messages of the reverse flows: the return workflow's Update and query, and its signals with the order. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Role } from '../../domain/roles';
import type { ReceivedUnits, ReturnReason, ReturnRecord } from '../../domain/returns';
import type { LineQuantity } from '../../domain/order';

export type { ReturnRecord };

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
