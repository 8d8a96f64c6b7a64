import type { OrderMachine } from '../machine';
import { ROLES, type Role } from '../roles';
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

/**
 * The roles some machine lets take `action` in some state: who may call its route at all (the
 * API's allow-list comes from here; the machine still decides per order and state).
 */
export function rolesTaking(
  action: string,
  among: readonly OrderMachine[] = Object.values(machines),
): Role[] {
  const by = new Set(
    among.flatMap((m) => m.transitions.filter((t) => t.action === action).flatMap((t) => t.by)),
  );
  return ROLES.filter((role) => by.has(role));
}
