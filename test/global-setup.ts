/**
 * Starts the real stack once for the whole run, through the same devstack module as `npm start`:
 * PostgreSQL (embedded, or DATABASE_URL), a Temporal dev server, the worker and the API, on free
 * loopback ports so a developer's own `npm start` can keep running. Test files find it through
 * the environment variables set here.
 */
import { isolatedStackEnv } from '../devstack/isolated';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config';
import { startStack, type Stack } from '../devstack/stack';
import { TEST_SECRET } from './support/tokens';

declare global {
  var __ORDER_STACK__: Stack | undefined;
}

export default async function globalSetup(): Promise<void> {
  const { dataDir, env: isolated } = await isolatedStackEnv('test');
  const logDir = path.resolve(__dirname, '..', '.data', 'test-logs');
  await mkdir(logDir, { recursive: true });
  const logFile = createWriteStream(path.join(logDir, 'stack.log'));

  const env: NodeJS.ProcessEnv = {
    ...isolated,
    AUTH_JWT_SECRET: TEST_SECRET,
    PAYMENT_TIMEOUT: '30m',
    AUTO_CONFIRM_AFTER: '10d',
    AFTER_SALES_WINDOW: '5s',
    // A bank transfer stays pending this long: room for the calls tests make while it is.
    PAYMENT_SANDBOX_ASYNC_DELAY: '4s',
    VIRTUAL_AFTER_SALES_WINDOW: '3s',
    // A digital good's code the vendor refused is asked for again this soon.
    CODE_VENDOR_RETRY: '2s',
    // The sandbox warehouse takes each step (accept, pick, pack, ship, transit, deliver) this fast.
    WAREHOUSE_SANDBOX_STEP: '300ms',
    // Webhook receivers under test listen on loopback, answer within a second or are retried soon
    // (every worker process, the tests' own ones too, dispatches).
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_TIMEOUT: '1s',
    WEBHOOK_BACKOFF: '100ms',
    WEBHOOK_BACKOFF_MAX: '1s',
    // An action no one heard answered (a test's Update sent straight to Temporal) is sent again
    // after this long: what a lost one needs, and for every other, proof that it changes nothing
    // (worker/unsettled-actions.ts).
    UNSETTLED_ACTION_AFTER: '5s',
    // Tests reuse a few tokens for thousands of requests; the limit itself has its own test.
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
    // Every test runs with payloads encrypted end to end (issue 13), under one key; rotation has its own test.
    PAYLOAD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  };
  Object.assign(process.env, env);
  const started = Date.now();
  const stack = await startStack({
    config: loadConfig(process.env),
    env,
    // Speed over surviving a power cut: this database lives for one run.
    fsync: false,
    log: (source, line) => logFile.write(`[${source}] ${line}\n`),
  });
  globalThis.__ORDER_STACK__ = stack;
  // Inherited by jest's test processes, which start after this.
  Object.assign(process.env, {
    TEST_API_URL: stack.apiUrl,
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    PAYMENT_PROVIDER_URL: stack.paymentProviderUrl,
    PAYMENT_SANDBOX_DATABASE_URL: stack.paymentSandboxDatabaseUrl ?? '',
    PAYMENT_WEBHOOK_SECRET: stack.paymentWebhookSecret ?? '',
    WAREHOUSE_URL: stack.warehouseUrl,
    WAREHOUSE_WEBHOOK_SECRET: stack.warehouseWebhookSecret ?? '',
    TEST_TEMPORAL_UI_URL: stack.temporalUiUrl ?? '',
    TEST_DATA_DIR: dataDir,
  });
  process.stdout.write(
    `\nstack up in ${((Date.now() - started) / 1000).toFixed(1)}s: ${stack.apiUrl}, Temporal ${stack.temporalAddress}\n`,
  );
}
