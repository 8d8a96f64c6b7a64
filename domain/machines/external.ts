/**
 * Orders placed in another order system and imported (POST /v1/orders/import): the source took the
 * money, so there is no payment step; an order joins where the source left it (paid, shipped or
 * received) and goes on like a standard order's physical-goods tail. No review hold: the source
 * decided to take the order. Refunds are owed by the source channel (workflows/order/effects.ts).
 */
import type { OrderMachine, TransitionDef } from '../machine';
import {
  fulfilmentStates,
  fulfilmentTransitions,
  type FulfilmentAction,
  type FulfilmentState,
} from './fulfilment';

type State = Exclude<FulfilmentState, 'IN_REVIEW'>;

const { IN_REVIEW: _review, PAID, ...rest } = fulfilmentStates;
const { hold: _hold, ...paid } = PAID;

export const externalMachine: OrderMachine<State, FulfilmentAction> = {
  type: 'external',
  description:
    'Imported from another order system, paid there: joins at paid, shipped or received, then as a standard order; refunds are owed by the source channel.',
  initial: 'PAID',
  imports: ['PAID', 'SHIPPED', 'CONFIRMED'],
  states: { PAID: paid, ...rest },
  transitions: fulfilmentTransitions.filter(
    (t): t is TransitionDef<State, FulfilmentAction> => t.from !== 'IN_REVIEW' && t.to !== 'IN_REVIEW',
  ),
};
