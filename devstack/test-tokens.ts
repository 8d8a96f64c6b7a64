/** The token secret and tokens of the test stack and the history recorder (never a deployment's). */
import { signToken } from '../api/auth';
import type { Role } from '../domain/roles';

export const TEST_SECRET = 'test-secret-for-the-order-service';

export function tokenFor(role: Role, sub = `test-${role}`): string {
  return signToken(TEST_SECRET, sub, role);
}
