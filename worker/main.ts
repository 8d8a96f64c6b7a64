/** Worker process entry: `node --import tsx worker/main.ts` (npm start runs it for you). */
import { Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from '../config';
import { createDb } from '../db/knex';
import { HttpPaymentProvider } from '../services/payment/http-provider';
import { createOrderWorker } from './create-worker';
import { startOrderStatsFolder } from './order-stats-folder';
import { startUnsettledActions } from './unsettled-actions';
import { startWebhookDispatcher } from './webhook-dispatcher';

async function main() {
  const config = loadConfigOrExit();
  if (!config.DATABASE_URL)
    throw new Error('DATABASE_URL is not set (npm start sets it for the embedded server)');
  if (config.WORKER_METRICS_PORT) {
    // Before any connection: the SDK's runtime metrics (polls, task latency, cache size...) at /metrics.
    Runtime.install({
      telemetryOptions: {
        metrics: {
          prometheus: {
            bindAddress: `${config.WORKER_METRICS_HOST ?? config.API_HOST}:${config.WORKER_METRICS_PORT}`,
          },
        },
      },
    });
  }
  const db = createDb(config.DATABASE_URL, { queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT });
  if (!config.PAYMENT_PROVIDER_URL)
    throw new Error(
      'PAYMENT_PROVIDER_URL is not set (npm start starts the sandbox payment service and sets it)',
    );
  const payments = new HttpPaymentProvider(config.PAYMENT_PROVIDER_URL, config.PAYMENT_PROVIDER_TIMEOUT);
  const { worker, connection, client } = await createOrderWorker(config, db, payments);
  console.log(JSON.stringify({ msg: 'worker started', taskQueue: config.TASK_QUEUE, pid: process.pid }));
  // The order center's events go out from here, beside the workflows that write them.
  const log = (msg: string, fields?: Record<string, unknown>) =>
    console.error(JSON.stringify({ msg, ...fields, pid: process.pid }));
  const dispatcher = startWebhookDispatcher(db, config, log);
  const folder = startOrderStatsFolder(db, 30_000, log);
  const unsettled = startUnsettledActions(
    db,
    client,
    { unansweredMs: config.UNSETTLED_ACTION_AFTER, everyMs: Math.min(10_000, config.UNSETTLED_ACTION_AFTER) },
    log,
  );
  // Asked to stop, the dispatcher claims no more deliveries at once (those in flight finish),
  // while the SDK's runtime stops the worker on the same signals; run() resolves once it has drained.
  let sideStopped: Promise<unknown> | undefined;
  const stopSide = () => (sideStopped ??= Promise.all([dispatcher.stop(), folder.stop(), unsettled.stop()]));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopSide());
  await worker.run();
  await stopSide();
  await connection.close();
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
