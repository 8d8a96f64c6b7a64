/**
 * The workflow code is shared by every workflow in the worker's V8 context (SHARED_WORKFLOW_MODULES,
 * worker/create-worker.ts), so a module that kept state at module level would carry it from one
 * order to the next, and replays would diverge. This keeps module scope free of mutable state:
 * every `let` or `var`, and every collection built at module level, is listed here with why it is
 * safe, or the test fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/** Module-level collections known to be safe to share, and why. */
const SAFE: Record<string, string> = {
  'domain/order-actions.ts CHARGES': 'a constant set, never changed',
  'domain/order-actions.ts RETURNS': 'a constant set, never changed',
  'domain/order-actions.ts OPENS_CASE': 'a constant set, never changed',
  'domain/edits.ts NEUTRAL': 'a constant set, never changed',
  'domain/money.ts CURRENCIES': 'the runtime’s currency list, never changed',
  'domain/money.ts formatters': 'a cache of a pure function: the same answer for every workflow',
};

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(path.join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [path.join(dir, entry.name)]
        : [],
  );
}

test('the shared workflow code keeps no mutable state at module level', () => {
  const found: string[] = [];
  for (const file of [...sources('workflows'), ...sources('domain')]) {
    for (const line of readFileSync(path.join(root, file), 'utf8').split('\n')) {
      const mutable = /^(?:export )?(?:let|var) (\w+)/.exec(line);
      const collection =
        /^(?:export )?const (\w+)(?:: [^=]+)? = (?:new (?:Map|Set|WeakMap|WeakSet|Array)\b|\[\])/.exec(line);
      const name = (mutable ?? collection)?.[1];
      if (name) found.push(`${file.split(path.sep).join('/')} ${name}`);
    }
  }
  expect(found.filter((entry) => !SAFE[entry])).toEqual([]);
  // Every exception still exists: the list does not outlive the code it excuses.
  expect(Object.keys(SAFE).filter((entry) => !found.includes(entry))).toEqual([]);
});
