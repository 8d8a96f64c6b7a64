/**
 * The messages both sides share: the API imports these to start, update and query order
 * workflows; the workflow implements them. No I/O here.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ActionRequest, OrderState, PlaceOrderInput } from '../domain/order';

export const ORDER_WORKFLOW_TYPE = 'orderWorkflow';

export type OrderWorkflowInput = PlaceOrderInput;

export interface OrderWorkflowResult {
  orderId: string;
  status: string;
}

/** Sent with the start (update-with-start): answers once the order is placed, or fails with the refusal. */
export const createOrderUpdate = defineUpdate<OrderState>('createOrder');
/** Every action on an order (pay, ship, confirm, cancel, ...): validated against the state machine. */
export const orderActionUpdate = defineUpdate<OrderState, [ActionRequest]>('orderAction');

/** The provider's news of a pending charge (its webhook, through the API): settled one way or the other. */
export interface PaymentUpdate {
  paymentId: string;
  /** `authorized`: held, to be captured at shipment, until `captureBefore`. */
  status: 'succeeded' | 'authorized' | 'declined';
  code?: string;
  captureBefore?: string;
}
export const paymentUpdateSignal = defineSignal<[PaymentUpdate]>('paymentUpdate');
/**
 * The API got no answer to a pay (its Update timed out, or no worker took it): a charge may have
 * been made under the next attempt's key by an Update that was then lost. Data only; `updateId`
 * names that Update, so that one the workflow did run is not taken for lost.
 */
export const payUnansweredSignal = defineSignal<[{ updateId?: string }?]>('payUnanswered');

export const orderStateQuery = defineQuery<OrderState | null>('orderState');
export const allowedActionsQuery = defineQuery<Record<string, string[]>>('allowedActions');

/** Custom search attributes, ids and amounts only, never personal data. */
export const searchAttributes = {
  OrderStatus: defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD),
  OrderType: defineSearchAttributeKey('OrderType', SearchAttributeType.KEYWORD),
  CustomerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  OrderChannel: defineSearchAttributeKey('OrderChannel', SearchAttributeType.KEYWORD),
  OrderTotal: defineSearchAttributeKey('OrderTotal', SearchAttributeType.INT),
  PaymentDeadline: defineSearchAttributeKey('PaymentDeadline', SearchAttributeType.DATETIME),
} as const;

/** Name → server type, for registering them on a cluster (`temporal operator search-attribute create`). */
export const SEARCH_ATTRIBUTE_TYPES: Record<keyof typeof searchAttributes, string> = {
  OrderStatus: 'Keyword',
  OrderType: 'Keyword',
  CustomerId: 'Keyword',
  OrderChannel: 'Keyword',
  OrderTotal: 'Int',
  PaymentDeadline: 'Datetime',
};
