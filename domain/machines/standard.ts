/** Physical goods: pay, produce, ship, confirm, complete after the after-sales window. */
import type { OrderMachine } from '../machine';
import {
  fulfilmentStates,
  fulfilmentTransitions,
  type FulfilmentAction,
  type FulfilmentState,
} from './fulfilment';
import { unpaidState, unpaidTransitions } from './unpaid';

type State = 'PENDING_PAYMENT' | FulfilmentState;
type Action = 'pay' | 'stock_out' | 'expire' | FulfilmentAction;

export const standardMachine: OrderMachine<State, Action> = {
  type: 'standard',
  description: 'Physical goods: payment, production, shipping, receipt and an after-sales window.',
  initial: 'PENDING_PAYMENT',
  states: {
    PENDING_PAYMENT: unpaidState(
      { customer: 'Awaiting payment', merchant: 'Unpaid', support: 'Pending payment' },
      'the customer to pay',
    ),
    ...fulfilmentStates,
  },
  transitions: [
    ...unpaidTransitions<State>('PENDING_PAYMENT', 'PAID', 'CANCELLED', 'capturePayment'),
    ...fulfilmentTransitions,
  ],
};
