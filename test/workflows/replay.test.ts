/**
 * Issue 12: orders in flight must keep replaying. Every recorded history (test/histories, written
 * by scripts/record-histories.ts) replays on the current workflow code; a change to a workflow's
 * command sequence without `patched()` fails here, as shown on a deliberately altered copy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { dataConverterFor } from '../../codec/data-converter';
import { loadConfig } from '../../config';
import * as workflows from '../../workflows';

const DIR = path.resolve(__dirname, '..', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const typeOf = (file: string) => file.split('--')[2]!;
// The worker converts the CLI's proto-JSON itself.
const load = (file: string) => ({
  workflowId: file,
  history: JSON.parse(readFileSync(path.join(DIR, file), 'utf8')),
});

async function replay(workflowsPath: string, subset: string[]) {
  const results: { file: string; error?: Error }[] = [];
  for await (const result of Worker.runReplayHistories(
    // With the stack's codec: encrypted histories decode, older plain ones pass through.
    {
      workflowsPath,
      // Preloaded and shared, as the worker runs it (SHARED_WORKFLOW_MODULES).
      bundlerOptions: { preloadModules: [workflowsPath] },
      replayName: path.basename(path.dirname(workflowsPath)),
      dataConverter: dataConverterFor(loadConfig(process.env)),
    },
    subset.map(load),
  )) {
    results.push({ file: result.workflowId, error: result.error });
  }
  return results;
}

test('histories are recorded for every workflow type, forward and reverse', () => {
  // Every workflow type the worker registers (workflows/index.ts), so a new one without histories fails here.
  expect(new Set(files.map(typeOf))).toEqual(new Set(Object.keys(workflows)));
  const scenarios = new Set(files.map((f) => f.split('--')[1]));
  for (const s of [
    'standard-payment-timeout',
    'returns-refunded-and-rejected',
    'presale-completed-and-forfeited',
    'claims',
    'exchanges',
    'edits',
    // The lean forward path (patched 'lean-forward-path'): local activities, the sale in one.
    'standard-completed',
    'standard-stock-out-and-rejected',
  ])
    expect(scenarios).toContain(s);
});

test('every recorded history replays on the current workflow code', async () => {
  const results = await replay(require.resolve('../../workflows'), files);
  expect(results).toHaveLength(files.length);
  expect(results.filter((r) => r.error).map((r) => `${r.file}: ${r.error!.message}`)).toEqual([]);
  // About a minute alone here for some 670 histories, CPU-bound; more than twice that beside another
  // suite's stack on two cores.
}, 600_000);

test('a changed command sequence without patched() is caught', async () => {
  const orders = files.filter((f) => typeOf(f) === 'orderWorkflow');
  const results = await replay(require.resolve('./altered'), orders);
  expect(results).toHaveLength(orders.length);
  // By name: the error is made inside the workflow sandbox, with its own copy of the class.
  for (const r of results)
    expect({ file: r.file, error: r.error?.name }).toEqual({
      file: r.file,
      error: 'DeterminismViolationError',
    });
}, 600_000);
