/** An order as the contract shows it to one role: the status label and the actions that role may take. */
import { statusLabel } from '../domain/machine';
import { machineFor } from '../domain/machines';
import { orderSnapshot } from '../domain/events';
import type { OrderState } from '../domain/order';
import { actionsNow } from '../domain/order-actions';
import type { Role } from '../domain/roles';

/**
 * A history as `role` may read it: staff see who acted; a customer sees only in what role
 * (`merchant`, not `merchant:merch-1`), since staff ids are not theirs to know; a channel, an
 * outside system, sees its own and its customers' ids, and staff by their role.
 */
export function historyFor<T extends { actor: string; seq?: number }>(history: T[], role: Role) {
  return history.map(({ seq: _seq, ...entry }) => ({ ...entry, actor: actorAs(entry.actor, role) }));
}

/** An actor (`merchant:merch-1`) as `role` may read it: see `historyFor`. */
export function actorAs(actor: string, role: Role): string {
  const [actorRole] = actor.split(':') as [string];
  return role === 'customer' || (role === 'channel' && STAFF.has(actorRole)) ? actorRole : actor;
}

/** An order edit as `role` may read it: who previewed it, as its history shows actors. */
export function editView<T extends { createdBy: string }>(edit: T, role: Role): T {
  return { ...edit, createdBy: actorAs(edit.createdBy, role) };
}

const STAFF: ReadonlySet<string> = new Set<Role>(['merchant', 'support']);

/**
 * Past its after-sales window's end and waiting only for open cases to settle, as the workflow's
 * clock says (within the clocks' skew): no new case opens (orders from before the window's end
 * was recorded list them as before; the workflow refuses them all the same).
 */
export function afterSalesClosed(order: OrderState): boolean {
  const after = machineFor(order.type).states[order.status]?.after;
  return (
    after?.timer === 'afterSalesWindow' &&
    order.afterSalesUntil !== undefined &&
    Date.now() >= Date.parse(order.afterSalesUntil)
  );
}

export function orderView(order: OrderState, role: Role) {
  const machine = machineFor(order.type);
  const { id, type, customerId, channel, status, attention, ...rest } = orderSnapshot(order);
  return {
    id,
    type,
    customerId,
    channel,
    status,
    statusLabel: statusLabel(machine, order.status, role),
    allowedActions: actionsNow(machine, order, role, { afterSalesClosed: afterSalesClosed(order) }),
    ...rest,
    // What support must act on (a refused capture's reason, a warehouse's refusal) is staff's to read.
    ...(attention && STAFF.has(role) ? { attention } : {}),
    history: historyFor(order.history, role),
  };
}
