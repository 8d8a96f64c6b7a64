/** The order worker: the workflow bundle plus the activities bound to PostgreSQL and the payment provider. */
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { dataConverterFor, FAILURE_CONVERTER_PATH } from '../codec/data-converter';
import type { Config } from '../config';
import { temporalConnectionOptions } from '../config/temporal-connection';
import type { Db } from '../db/knex';
import type { PaymentProvider } from '../services/payment/provider';
import { HttpWarehouse } from '../services/warehouse/http-warehouse';
import { HttpCodeVendor } from '../services/production/code-vendor';

/**
 * What the workflow bundle is made of: the workflows and the failure converter that runs inside
 * the sandbox. Bundled at start, or ahead of time (scripts/bundle-workflows.ts) from the same list.
 */
export const WORKFLOW_SOURCES = {
  workflowsPath: require.resolve('../workflows'),
  failureConverterPath: FAILURE_CONVERTER_PATH,
};

/**
 * The workflow code is preloaded: evaluated once per worker thread and shared by every workflow in
 * the reused V8 context, instead of once per workflow (docs/BENCHMARKS.md, tuning 5). It may be,
 * because no module of it keeps state at module level: each workflow's state lives in its own
 * call (the order's entity), and module scope holds constants, definitions and a pure cache of
 * money formatters. test/unit/workflow-modules.test.ts keeps it so.
 */
export const SHARED_WORKFLOW_MODULES = [WORKFLOW_SOURCES.workflowsPath];

/** What the bundler is given besides the sources: the shared modules. */
export const BUNDLER_OPTIONS = { preloadModules: SHARED_WORKFLOW_MODULES };

export async function createOrderWorker(config: Config, db: Db, payments: PaymentProvider) {
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
    ...(config.WORKFLOW_BUNDLE_PATH
      ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } }
      : { workflowsPath: WORKFLOW_SOURCES.workflowsPath, bundlerOptions: BUNDLER_OPTIONS }),
    dataConverter: dataConverterFor(config),
    activities: createActivities({
      db,
      payments,
      defaultInventoryStrategy: config.DEFAULT_INVENTORY_STRATEGY,
      ...(config.WAREHOUSE_URL
        ? { warehouse: new HttpWarehouse(config.WAREHOUSE_URL, config.WAREHOUSE_TIMEOUT) }
        : {}),
      ...(config.CODE_VENDOR_URL
        ? { codes: new HttpCodeVendor(config.CODE_VENDOR_URL, config.WAREHOUSE_TIMEOUT) }
        : {}),
    }),
    // The knobs of README's "Running at scale"; unset, the SDK's defaults.
    ...(config.WORKER_MAX_CONCURRENT_ACTIVITIES
      ? { maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES }
      : {}),
    ...(config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS
      ? { maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS }
      : {}),
    ...(config.WORKER_MAX_CACHED_WORKFLOWS !== undefined
      ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS }
      : {}),
    // Running activities get this long to finish when the worker is asked to stop.
    shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE,
  });
  // The worker's own client (its sends of unsettled actions) shares the worker's connection.
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFor(config),
  });
  return { worker, connection, client };
}
