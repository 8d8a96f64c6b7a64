/**
 * `channel`: a sales channel's own system (a partner shop, an app's back end), placing and paying
 * orders for its customers and seeing only its channel's orders.
 */
export const ROLES = ['customer', 'merchant', 'support', 'channel'] as const;
export type Role = (typeof ROLES)[number];
/** Who takes an action: a person in a role, or the system (timers, production). */
export type Actor = Role | 'system';
