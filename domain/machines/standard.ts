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
type Action = 'pay' | 'stock_out' | 'expire' | 'edit' | FulfilmentAction;

const anyone = ['customer', 'merchant', 'support'] as const;

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
    // Lines added, removed, changed or swapped until the goods leave (domain/edits.ts).
    ...(['PENDING_PAYMENT', 'PAID', 'IN_REVIEW', 'IN_PRODUCTION'] as const).map((from) => ({
      from,
      action: 'edit' as const,
      to: from,
      by: anyone,
      effect: 'applyEdit' as const,
    })),
  ],
};
