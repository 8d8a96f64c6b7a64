/**
 * `npm start`: the whole service on embedded defaults, until Ctrl-C. `npm run cluster` (`--cluster`):
 * the same, on the Temporal server itself as separate services (README, "Production topology"),
 * with data of its own under DATA_DIR/cluster, since the dev server's workflows are not the cluster's.
 */
import path from 'node:path';
import { loadConfigOrExit } from '../config';
import { describeError } from '../db/errors';
import { developmentSecret, NoSecretError } from '../devstack/dev-secret';
import { startStack, StackStartError } from '../devstack/stack';
import { ROLES } from '../domain/roles';
import { devToken, devTokens } from './token';

async function main() {
  const onCluster = process.argv.includes('--cluster');
  const loaded = loadConfigOrExit({
    ...process.env,
    ...(onCluster
      ? {
          TEMPORAL_TOPOLOGY: 'cluster',
          DATA_DIR: path.join(process.env.DATA_DIR || '.data', 'cluster'),
        }
      : {}),
  });
  const secret = developmentSecret(loaded);
  const config = { ...loaded, AUTH_JWT_SECRET: secret };
  const stack = await startStack({
    config,
    env: { AUTH_JWT_SECRET: secret },
    persistTemporal: true,
    supervise: true,
  });

  console.log(`
Order service is up.
  API           ${stack.apiUrl}   (health: ${stack.apiUrl}/readyz)
  API docs      ${stack.apiUrl}/docs  (OpenAPI: ${stack.apiUrl}/openapi.json; state machines: ${stack.apiUrl}/v1/order-types)
  Temporal      ${stack.temporalAddress}
  Temporal UI   ${stack.temporalUiUrl ?? (stack.temporalCluster ? '(none with the cluster: README, "Production topology", says how to run one)' : '(external cluster)')}${
    stack.temporalCluster
      ? `\n  Cluster       ${[...stack.temporalCluster.processes].map(([service, child]) => `${service} (pid ${child.pid})`).join(', ')}`
      : ''
  }
  PostgreSQL    ${stack.databaseUrl}
  Payments      ${stack.paymentProviderUrl}   (${stack.paymentSandboxDatabaseUrl ? 'the sandbox payment service, in a database of its own; its webhooks come to /v1/inbound/payments' : 'PAYMENT_PROVIDER_URL'})
${loaded.AUTH_JWT_SECRET ? '' : `  Token secret  ${secret}   (development only; kept in ${config.DATA_DIR}/dev-jwt-secret, mode 0600)\n`}
Dev tokens (Authorization: Bearer <token>), valid for AUTH_TOKEN_MAX_LIFETIME; npm run token -- <role> prints another:
${devTokens(config).join('\n')}

Console (signed in as that role; the token stays in the link's fragment, never sent to the server):
${ROLES.map((role) => `  ${role.padEnd(9)} ${stack.apiUrl}/console#token=${devToken(config, role)}`).join('\n')}

Ctrl-C stops everything; the next ${onCluster ? 'npm run cluster' : 'npm start'} resumes orders in flight.
`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping API, worker, payment sandbox, Temporal and PostgreSQL...`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  // Described, never printed whole: a failed migration's (or any statement's) error names its statement.
  const described = describeError(err);
  console.error(
    err instanceof StackStartError || err instanceof NoSecretError
      ? err.message
      : (described.stack ?? described.message),
  );
  process.exit(1);
});
