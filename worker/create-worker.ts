/** The order worker: the workflow bundle plus the activities bound to PostgreSQL and the payment provider. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { dataConverterFor } from '../codec/data-converter';
import type { Config } from '../config';
import { temporalConnectionOptions } from '../config/temporal-connection';
import type { Db } from '../db/knex';
import type { PaymentProvider } from '../services/payment/provider';

export async function createOrderWorker(config: Config, db: Db, payments: PaymentProvider) {
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    dataConverter: dataConverterFor(config),
    activities: createActivities({
      db,
      payments,
      defaultInventoryStrategy: config.DEFAULT_INVENTORY_STRATEGY,
    }),
    // Running activities get this long to finish when the worker is asked to stop.
    shutdownGraceTime: '10s',
  });
  return { worker, connection };
}
