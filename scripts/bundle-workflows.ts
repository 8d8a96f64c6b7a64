/**
 * Builds the workflow bundle once, at build time (`npm run build`), so production workers load
 * it (WORKFLOW_BUNDLE_PATH) instead of running webpack at every start.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUNDLER_OPTIONS, WORKFLOW_SOURCES } from '../worker/create-worker';

async function main() {
  const out = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ ...WORKFLOW_SOURCES, ...BUNDLER_OPTIONS });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, code);
  console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
