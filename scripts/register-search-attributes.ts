/**
 * Registers the order search attributes on the cluster of the configuration (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TLS or API key). The dev server of `npm start` has them already.
 */
import { Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { temporalConnectionOptions } from '../config/temporal-connection';
import { registerSearchAttributes } from '../devstack/search-attributes';

async function main() {
  const config = loadConfigOrExit();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const added = await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
  console.log(
    added.length ? `registered ${added.join(', ')}` : 'all search attributes were already registered',
  );
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
