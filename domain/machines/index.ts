import type { OrderMachine } from '../machine';
import { presaleMachine } from './presale';
import { standardMachine } from './standard';
import { virtualMachine } from './virtual';

export const ORDER_TYPES = ['standard', 'virtual', 'presale'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const machines: Record<OrderType, OrderMachine> = {
  standard: standardMachine,
  virtual: virtualMachine,
  presale: presaleMachine,
};

export function machineFor(type: OrderType): OrderMachine {
  return machines[type];
}
