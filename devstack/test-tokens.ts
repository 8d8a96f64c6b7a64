/** The token secret and tokens of the test stack and the history recorder (never a deployment's). */
import { signToken } from '../api/auth';
import type { Role } from '../domain/roles';

export const TEST_SECRET = 'test-secret-for-the-order-service';

/** A token of the test secret; `channel` for a channel's token (required) or a channel's customer. */
export function tokenFor(role: Role, sub = `test-${role}`, channel?: string): string {
  return signToken(TEST_SECRET, sub, role, channel ? { channel } : {});
}
