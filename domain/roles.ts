/**
 * `channel`: a sales channel's own system (a partner shop, an app's back end), placing and paying
 * orders for its customers and seeing only its channel's orders.
 */
export const ROLES = ['customer', 'merchant', 'support', 'channel'] as const;
export type Role = (typeof ROLES)[number];
/** Who takes an action: a person in a role, or the system (timers, production). */
export type Actor = Role | 'system';

/** The buyer's own side: the customer, or its channel acting for it (a presale's cancel keeps the deposit). */
export function buyerSide(actor: Actor | undefined): actor is 'customer' | 'channel' {
  return actor === 'customer' || actor === 'channel';
}
