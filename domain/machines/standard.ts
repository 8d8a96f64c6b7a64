/** Physical goods: pay, produce, ship, confirm, complete after the after-sales window. */
import type { OrderMachine } from '../machine';
import {
  fulfilmentStates,
  fulfilmentTransitions,
  type FulfilmentAction,
  type FulfilmentState,
} from './fulfilment';

type State = 'PENDING_PAYMENT' | FulfilmentState;
type Action = 'pay' | 'stock_out' | 'expire' | FulfilmentAction;

export const standardMachine: OrderMachine<State, Action> = {
  type: 'standard',
  description: 'Physical goods: payment, production, shipping, receipt and an after-sales window.',
  initial: 'PENDING_PAYMENT',
  states: {
    PENDING_PAYMENT: {
      labels: { customer: 'Awaiting payment', merchant: 'Unpaid', support: 'Pending payment' },
      waitsFor: 'the customer to pay',
      edits: ['items', 'address'],
      after: { timer: 'paymentTimeout', action: 'expire', reason: 'payment_timeout' },
    },
    ...fulfilmentStates,
  },
  transitions: [
    { from: 'PENDING_PAYMENT', action: 'pay', to: 'PAID', by: ['customer'], effect: 'capturePayment' },
    {
      from: 'PENDING_PAYMENT',
      action: 'cancel',
      to: 'CANCELLED',
      by: ['customer', 'merchant', 'support'],
      effect: 'releaseHolds',
    },
    {
      from: 'PENDING_PAYMENT',
      action: 'modify',
      to: 'PENDING_PAYMENT',
      by: ['customer', 'merchant', 'support'],
      effect: 'applyModification',
    },
    { from: 'PENDING_PAYMENT', action: 'expire', to: 'CANCELLED', by: ['system'], effect: 'releaseHolds' },
    // Payment-time stock was gone when the customer paid: nothing was charged, the order ends.
    { from: 'PENDING_PAYMENT', action: 'stock_out', to: 'CANCELLED', by: ['system'], effect: 'releaseHolds' },
    ...fulfilmentTransitions,
  ],
};
