export const ROLES = ['customer', 'merchant', 'support'] as const;
export type Role = (typeof ROLES)[number];
/** Who takes an action: a person in a role, or the system (timers, production). */
export type Actor = Role | 'system';
