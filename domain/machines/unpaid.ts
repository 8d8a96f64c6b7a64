/** The first state of every order type: waiting for the first payment, which the payment timeout ends. */
import type { Effect, StateDef, TransitionDef } from '../machine';

export type UnpaidAction = 'pay' | 'cancel' | 'modify' | 'expire' | 'stock_out';

export function unpaidState<A extends string>(
  labels: StateDef<A>['labels'],
  waitsFor: string,
): StateDef<A | UnpaidAction> {
  return {
    labels,
    waitsFor,
    edits: ['items', 'address'],
    after: { timer: 'paymentTimeout', action: 'expire', reason: 'payment_timeout' },
  };
}

export function unpaidTransitions<S extends string>(
  from: S,
  paid: S,
  cancelled: S,
  payEffect: Effect,
): TransitionDef<S, UnpaidAction>[] {
  const anyone = ['customer', 'merchant', 'support'] as const;
  return [
    // A channel pays and cancels for its customer.
    { from, action: 'pay', to: paid, by: ['customer', 'channel'], effect: payEffect },
    { from, action: 'cancel', to: cancelled, by: [...anyone, 'channel'], effect: 'releaseHolds' },
    { from, action: 'modify', to: from, by: anyone, effect: 'applyModification' },
    { from, action: 'expire', to: cancelled, by: ['system'], effect: 'releaseHolds' },
    // Payment-time stock was gone when the customer paid: nothing was charged, the order ends.
    { from, action: 'stock_out', to: cancelled, by: ['system'], effect: 'releaseHolds' },
  ];
}
