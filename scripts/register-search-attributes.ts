/**
 * Prepares the namespace of the configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS or API key)
 * for the service: registers it, with its retention period, if the cluster lacks it, then the order
 * search attributes it lacks. Idempotent; temporal-dev.yml's set-up runs it, and so may you on a
 * cluster of your own. The dev server of `npm start` and `npm run cluster` need nothing of it. On
 * Temporal Cloud the namespace is made in its console and this registers nothing it may not.
 */
import { Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { temporalConnectionOptions } from '../config/temporal-connection';
import { prepareNamespace } from '../devstack/cluster';

async function main() {
  const config = loadConfigOrExit();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    await prepareNamespace(connection, config.TEMPORAL_NAMESPACE);
    console.log(`the namespace ${config.TEMPORAL_NAMESPACE} has the order search attributes`);
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
