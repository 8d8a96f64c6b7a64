/**
 * A stack of its own, for the tests, the chaos run, the benchmarks and the history recorder: a
 * fresh data directory and free loopback ports, so it runs beside a developer's `npm start`.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUNDLER_OPTIONS, WORKFLOW_SOURCES } from '../worker/create-worker';
import { freePort } from './wait';

export async function isolatedStackEnv(name: string): Promise<{ dataDir: string; env: NodeJS.ProcessEnv }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `orders-${name}-`));
  await chmod(dataDir, 0o755); // the postgres user must reach its data directory inside
  return {
    dataDir,
    env: {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      PAYMENT_SANDBOX_PORT: String(await freePort()),
      WAREHOUSE_SANDBOX_PORT: String(await freePort()),
      TASK_QUEUE: `orders-${name}`,
    },
  };
}

const quiet = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The workflow bundle built once into `dir` (WORKFLOW_BUNDLE_PATH), so a restarted worker is back in a second. */
export async function prebuiltWorkflowBundle(dir: string): Promise<string> {
  const file = path.join(dir, 'workflow-bundle.js');
  await writeFile(
    file,
    (await bundleWorkflowCode({ ...WORKFLOW_SOURCES, ...BUNDLER_OPTIONS, logger: quiet })).code,
  );
  return file;
}
