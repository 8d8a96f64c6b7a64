/**
 * Presale: a deposit when ordering, the balance payable between `balanceStartsAt` and
 * `balanceEndsAt` (both stored on the order), then fulfilment as for `standard`.
 *
 * Deposit rule: the deposit is kept when the customer cancels after paying it or leaves the
 * balance unpaid (it bought the merchant's commitment to produce); it is refunded when the
 * merchant or support cancels, and with everything else once the balance is paid.
 */
import type { OrderMachine } from '../machine';
import {
  fulfilmentStates,
  fulfilmentTransitions,
  type FulfilmentAction,
  type FulfilmentState,
} from './fulfilment';
import { unpaidState, unpaidTransitions } from './unpaid';

type State = 'PENDING_DEPOSIT' | 'DEPOSIT_PAID' | 'PENDING_BALANCE' | FulfilmentState;
type Action = 'pay' | 'stock_out' | 'expire' | 'open_balance' | FulfilmentAction;

const anyone = ['customer', 'merchant', 'support'] as const;

export const presaleMachine: OrderMachine<State, Action> = {
  type: 'presale',
  description: 'Deposit and balance: the balance window opens and closes at times stored on the order.',
  initial: 'PENDING_DEPOSIT',
  states: {
    PENDING_DEPOSIT: unpaidState(
      { customer: 'Awaiting deposit', merchant: 'Deposit unpaid', support: 'Pending deposit' },
      'the customer to pay the deposit',
    ),
    DEPOSIT_PAID: {
      labels: {
        customer: 'Deposit paid, balance opens soon',
        merchant: 'Deposit paid',
        support: 'Deposit paid, balance window not open',
      },
      waitsFor: 'the balance window to open',
      edits: ['items', 'address'],
      after: { timer: 'balanceStartsAt', action: 'open_balance', reason: 'balance_window_opened' },
    },
    PENDING_BALANCE: {
      labels: { customer: 'Awaiting balance', merchant: 'Balance unpaid', support: 'Pending balance' },
      waitsFor: 'the customer to pay the balance',
      edits: ['items', 'address'],
      after: { timer: 'balanceEndsAt', action: 'expire', reason: 'balance_unpaid' },
    },
    ...fulfilmentStates,
  },
  transitions: [
    ...unpaidTransitions<State>('PENDING_DEPOSIT', 'DEPOSIT_PAID', 'CANCELLED', 'captureDeposit'),
    { from: 'DEPOSIT_PAID', action: 'open_balance', to: 'PENDING_BALANCE', by: ['system'] },
    { from: 'DEPOSIT_PAID', action: 'modify', to: 'DEPOSIT_PAID', by: anyone, effect: 'applyModification' },
    {
      from: 'DEPOSIT_PAID',
      action: 'cancel',
      to: 'CANCELLED',
      by: [...anyone, 'channel'],
      effect: 'cancelPresale',
    },
    {
      from: 'PENDING_BALANCE',
      action: 'pay',
      to: 'PAID',
      by: ['customer', 'channel'],
      effect: 'captureBalance',
    },
    {
      from: 'PENDING_BALANCE',
      action: 'modify',
      to: 'PENDING_BALANCE',
      by: anyone,
      effect: 'applyModification',
    },
    {
      from: 'PENDING_BALANCE',
      action: 'cancel',
      to: 'CANCELLED',
      by: [...anyone, 'channel'],
      effect: 'cancelPresale',
    },
    { from: 'PENDING_BALANCE', action: 'expire', to: 'CANCELLED', by: ['system'], effect: 'forfeitDeposit' },
    ...fulfilmentTransitions,
  ],
};
