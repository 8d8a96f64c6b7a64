/** `npm start`: the whole service on embedded defaults, until Ctrl-C. */
import { signToken } from '../api/auth';
import { DEV_JWT_SECRET, loadConfigOrExit } from '../config';
import { startStack, StackStartError } from '../devstack/stack';
import { ROLES } from '../domain/roles';

async function main() {
  const config = loadConfigOrExit();
  const stack = await startStack({ config, persistTemporal: true, supervise: true });

  const tokens = ROLES.map(
    (role) => `  ${role.padEnd(9)} ${signToken(config.AUTH_JWT_SECRET, `dev-${role}`, role)}`,
  );
  console.log(`
Order service is up.
  API           ${stack.apiUrl}   (health: ${stack.apiUrl}/readyz)
  API docs      ${stack.apiUrl}/docs  (OpenAPI: ${stack.apiUrl}/openapi.json; state machines: ${stack.apiUrl}/v1/order-types)
  Temporal      ${stack.temporalAddress}
  Temporal UI   ${stack.temporalUiUrl ?? '(external cluster)'}
  PostgreSQL    ${stack.databaseUrl}
${config.AUTH_JWT_SECRET === DEV_JWT_SECRET ? '  AUTH_JWT_SECRET is the development default; set it in any shared environment.\n' : ''}
Dev tokens (Authorization: Bearer <token>):
${tokens.join('\n')}

Ctrl-C stops everything; the next npm start resumes orders in flight.
`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping API, worker, Temporal and PostgreSQL...`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof StackStartError ? err.message : err);
  process.exit(1);
});
