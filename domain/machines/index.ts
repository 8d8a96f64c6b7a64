import type { OrderMachine } from '../machine';
import { externalMachine } from './external';
import { presaleMachine } from './presale';
import { standardMachine } from './standard';
import { virtualMachine } from './virtual';

export const ORDER_TYPES = ['standard', 'virtual', 'presale', 'external'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];
/** The types a customer or a channel places (POST /v1/orders); `external` orders are imported. */
export const PLACED_TYPES = ['standard', 'virtual', 'presale'] as const satisfies readonly OrderType[];

export const machines: Record<OrderType, OrderMachine> = {
  standard: standardMachine,
  virtual: virtualMachine,
  presale: presaleMachine,
  external: externalMachine,
};

export function machineFor(type: OrderType): OrderMachine {
  return machines[type];
}
