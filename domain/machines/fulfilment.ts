/** The physical-goods tail shared by `standard` and `presale`: production, shipping, receipt, after-sales. */
import type { StateDef, TransitionDef } from '../machine';

export type FulfilmentState =
  | 'PAID'
  | 'IN_REVIEW'
  | 'IN_PRODUCTION'
  | 'PARTIALLY_SHIPPED'
  | 'SHIPPED'
  | 'CONFIRMED'
  | 'COMPLETED'
  | 'CANCELLED'
  | 'REFUNDED';
export type FulfilmentAction =
  | 'start_production'
  | 'hold_for_review'
  | 'approve'
  | 'reject'
  | 'ship'
  | 'ship_part'
  | 'confirm'
  | 'complete'
  | 'cancel'
  | 'refund'
  | 'refund_all'
  | 'request_return'
  | 'return_refund'
  | 'return_refund_all'
  | 'open_claim'
  | 'claim_refund'
  | 'claim_refund_all'
  | 'open_exchange'
  | 'exchange_refund'
  | 'exchange_ship'
  | 'exchange_revert'
  | 'claim_ship'
  | 'modify';

const same = (label: string) => ({ customer: label, merchant: label, support: label });

export const fulfilmentStates: Record<FulfilmentState, StateDef<FulfilmentAction>> = {
  PAID: {
    labels: same('Paid'),
    waitsFor: 'production to start',
    auto: 'start_production',
    hold: 'hold_for_review',
    edits: ['address'],
  },
  // A large or risky order waits for staff before anything is made or sent (REVIEW_ABOVE, the provider's risk).
  IN_REVIEW: {
    labels: { customer: 'Being checked', merchant: 'To review', support: 'Held for review' },
    waitsFor: 'staff to approve or reject it',
    after: { timer: 'reviewTimeout', action: 'reject', reason: 'review_timed_out' },
    edits: ['address'],
  },
  IN_PRODUCTION: {
    labels: { customer: 'Awaiting shipment', merchant: 'To ship', support: 'In production, not shipped' },
    waitsFor: 'the merchant to ship',
    edits: ['address'],
  },
  PARTIALLY_SHIPPED: {
    labels: {
      customer: 'Partly on its way',
      merchant: 'Partly shipped',
      support: 'Partly shipped, rest to ship',
    },
    waitsFor: 'the rest of the order to ship',
  },
  SHIPPED: {
    labels: { customer: 'On its way', merchant: 'Shipped', support: 'Shipped, awaiting receipt' },
    waitsFor: 'the customer to confirm receipt',
    after: { timer: 'autoConfirmAfter', action: 'confirm', reason: 'auto_confirmed' },
  },
  CONFIRMED: {
    labels: { customer: 'Received', merchant: 'Delivered', support: 'Received, after-sales window open' },
    waitsFor: 'the after-sales window to close',
    after: { timer: 'afterSalesWindow', action: 'complete', reason: 'after_sales_window_closed' },
  },
  COMPLETED: { labels: same('Completed'), terminal: true },
  CANCELLED: { labels: same('Cancelled'), terminal: true },
  REFUNDED: { labels: same('Refunded'), terminal: true },
};

const anyone = ['customer', 'merchant', 'support'] as const;
/** A channel cancels for its customer, where the customer may. */
const cancellers = [...anyone, 'channel', 'system'] as const;

const staff = ['merchant', 'support'] as const;

/**
 * Money back without goods coming back (staff), and returns, claims and exchanges of shipped
 * goods (customers), each a self-loop until all is refunded.
 */
function refundsIn(
  state: FulfilmentState,
  returns: boolean,
): TransitionDef<FulfilmentState, FulfilmentAction>[] {
  return [
    // The system refunds a parcel the carrier could not deliver (returned to its sender).
    { from: state, action: 'refund', to: state, by: [...staff, 'system'], effect: 'refundItems' },
    { from: state, action: 'refund_all', to: 'REFUNDED', by: [...staff, 'system'], effect: 'refundItems' },
    ...(returns
      ? ([
          { from: state, action: 'request_return', to: state, by: ['customer'], effect: 'openReturn' },
          { from: state, action: 'return_refund', to: state, by: ['system'], effect: 'refundItems' },
          { from: state, action: 'return_refund_all', to: 'REFUNDED', by: ['system'], effect: 'refundItems' },
          // Damaged, missing or wrong goods: refunded (or replaced, by the claim) with nothing sent back.
          { from: state, action: 'open_claim', to: state, by: ['customer'], effect: 'openClaim' },
          { from: state, action: 'claim_refund', to: state, by: ['system'], effect: 'refundItems' },
          { from: state, action: 'claim_refund_all', to: 'REFUNDED', by: ['system'], effect: 'refundItems' },
          // Some units sent back for others: the exchange's own workflow; its money and parcel land here.
          { from: state, action: 'open_exchange', to: state, by: ['customer'], effect: 'openExchange' },
          { from: state, action: 'exchange_refund', to: state, by: ['system'], effect: 'refundExchange' },
          { from: state, action: 'exchange_ship', to: state, by: ['system'], effect: 'recordCaseParcel' },
          { from: state, action: 'claim_ship', to: state, by: ['system'], effect: 'recordCaseParcel' },
          { from: state, action: 'exchange_revert', to: state, by: ['system'], effect: 'revertExchange' },
        ] as const)
      : []),
  ];
}

export const fulfilmentTransitions: TransitionDef<FulfilmentState, FulfilmentAction>[] = [
  { from: 'PAID', action: 'start_production', to: 'IN_PRODUCTION', by: ['system'], effect: 'openProduction' },
  { from: 'PAID', action: 'hold_for_review', to: 'IN_REVIEW', by: ['system'] },
  { from: 'IN_REVIEW', action: 'approve', to: 'IN_PRODUCTION', by: staff, effect: 'openProduction' },
  // Rejected by staff, or by the system when nobody decided in time: everything paid goes back.
  {
    from: 'IN_REVIEW',
    action: 'reject',
    to: 'CANCELLED',
    by: [...staff, 'system'],
    effect: 'refundAndRelease',
  },
  {
    from: 'IN_REVIEW',
    action: 'cancel',
    to: 'CANCELLED',
    by: cancellers,
    effect: 'refundAndRelease',
  },
  { from: 'IN_REVIEW', action: 'modify', to: 'IN_REVIEW', by: anyone, effect: 'applyModification' },
  // The system cancels when a held payment could not be authorised again before it ran out.
  { from: 'PAID', action: 'cancel', to: 'CANCELLED', by: cancellers, effect: 'refundAndRelease' },
  // Shipped by hand (the merchant), or parcel by parcel as the warehouse reports them (the system).
  {
    from: 'IN_PRODUCTION',
    action: 'ship',
    to: 'SHIPPED',
    by: ['merchant', 'system'],
    effect: 'recordShipment',
  },
  {
    from: 'IN_PRODUCTION',
    action: 'ship_part',
    to: 'PARTIALLY_SHIPPED',
    by: ['merchant', 'system'],
    effect: 'recordParcel',
  },
  {
    from: 'PARTIALLY_SHIPPED',
    action: 'ship_part',
    to: 'PARTIALLY_SHIPPED',
    by: ['merchant', 'system'],
    effect: 'recordParcel',
  },
  // Units a warehouse could not find, and no other location had, are refunded by the system; units
  // whose location refused them, by staff (while none is being packed: order-entity.ts).
  {
    from: 'PARTIALLY_SHIPPED',
    action: 'refund',
    to: 'PARTIALLY_SHIPPED',
    by: [...staff, 'system'],
    effect: 'refundItems',
  },
  {
    from: 'PARTIALLY_SHIPPED',
    action: 'refund_all',
    to: 'REFUNDED',
    by: [...staff, 'system'],
    effect: 'refundItems',
  },
  // What has not left is stopped; parcels with the carrier are asked back (workflows/order/effects.ts).
  {
    from: 'PARTIALLY_SHIPPED',
    action: 'cancel',
    to: 'CANCELLED',
    by: cancellers,
    effect: 'refundAndRelease',
  },
  {
    from: 'PARTIALLY_SHIPPED',
    action: 'ship',
    to: 'SHIPPED',
    by: ['merchant', 'system'],
    effect: 'recordShipment',
  },
  {
    from: 'IN_PRODUCTION',
    action: 'cancel',
    to: 'CANCELLED',
    by: cancellers,
    effect: 'refundAndRelease',
  },
  { from: 'IN_PRODUCTION', action: 'modify', to: 'IN_PRODUCTION', by: anyone, effect: 'applyModification' },
  ...refundsIn('IN_PRODUCTION', false),
  ...refundsIn('SHIPPED', true),
  ...refundsIn('CONFIRMED', true),
  { from: 'SHIPPED', action: 'confirm', to: 'CONFIRMED', by: ['customer', 'system'] },
  { from: 'CONFIRMED', action: 'complete', to: 'COMPLETED', by: ['system'] },
];
