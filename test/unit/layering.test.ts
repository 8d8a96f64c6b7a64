/**
 * Issue 18: the layering lint claims is enforced, and is. A deliberate violation of each kind
 * fails `npm run lint`'s rule; README's table says what lint/layers.cjs says.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(__dirname, '..', '..');

/**
 * Only the layering rule's messages for each snippet, placed (virtually) at its file. ESLint loads
 * its config with a dynamic import, which jest's module sandbox cannot do: one plain node runs it.
 */
function layerErrors(cases: [file: string, code: string][]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const path = require('node:path');
    (async () => {
      const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const [file, code] of cases) {
        const [result] = await eslint.lintText(code, { filePath: path.join(process.cwd(), file) });
        out.push(result.messages.filter((m) => m.ruleId === 'layers/imports').map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const run = spawnSync(process.execPath, ['-e', script], {
    cwd: root,
    input: JSON.stringify(cases),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`eslint: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[][];
}

const REFUSED: [file: string, code: string, message: string][] = [
  // The pattern the old rule missed: two levels up from a sub-folder.
  [
    'workflows/reverse/x.ts',
    "import { placeOrder } from '../../services/orders/place-order';",
    'workflows/ may not import services/',
  ],
  [
    'workflows/x.ts',
    "import { createActivities } from '../activities';",
    'may import only types from activities/',
  ],
  ['workflows/order/x.ts', "import { readFileSync } from 'node:fs';", 'may not import the package node:fs'],
  [
    'services/audit/x.ts',
    "import { orderStateQuery } from '../../workflows/messages';",
    'services/ may not import workflows/',
  ],
  ['domain/x.ts', "import { createDb } from '../db/knex';", 'domain/ may not import db/'],
  ['domain/x.ts', "import { z } from 'zod';", 'domain/ may not import the package zod'],
  ['codec/x.ts', "import type { Config } from '../config';", 'codec/ may not import config/'],
  ['scripts/x.ts', "import { call } from '../test/support/api';", 'scripts/ may not import test/'],
  [
    'api/routes/x.ts',
    "export { createActivities } from '../../activities';",
    'api/ may not import activities/',
  ],
  ['services/x.ts', "const app = require('../api/app');", 'services/ may not import api/'],
];

const ALLOWED: [file: string, code: string][] = [
  ['workflows/order/x.ts', "import { store } from '../activities';"], // workflows/activities.ts, not the layer
  ['workflows/x.ts', "import type { OrderActivities } from '../activities';"],
  ['api/routes/x.ts', "import { loadOrder } from '../../services/orders/read-order';"],
  ['test/api/x.ts', "import { createActivities } from '../../activities';"],
];

describe('layering lint', () => {
  it('refuses a deliberate violation of each kind, and allows what the table allows', () => {
    const errors = layerErrors([...REFUSED.map(([f, c]) => [f, c] as [string, string]), ...ALLOWED]);
    REFUSED.forEach(([file, code, message], i) =>
      expect({ file, code, errors: errors[i] }).toEqual({
        file,
        code,
        errors: [expect.stringContaining(message)],
      }),
    );
    ALLOWED.forEach(([file, code], i) =>
      expect({ file, code, errors: errors[REFUSED.length + i] }).toEqual({ file, code, errors: [] }),
    );
  });

  it("README's architecture table says what the rule enforces", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LAYERS } = require('../../lint/layers.cjs') as {
      LAYERS: Record<string, { may: string[]; types?: string[] }>;
    };
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const folders = (text: string) => [...text.matchAll(/`(\w+)\/`/g)].map((m) => m[1]!).sort();
    const table = Object.fromEntries(
      [...readme.matchAll(/^\|\s*`(\w+)\/`\s*\|[^|]*\|([^|]*)\|\s*$/gm)].map(([, folder, may]) => {
        const [own, types = ''] = may!.split('types:');
        return [folder!, { may: folders(own!), types: folders(types.split('packages:')[0]!) }];
      }),
    );
    const expected = Object.fromEntries(
      Object.entries(LAYERS).map(([folder, layer]) => [
        folder,
        { may: layer.may.filter((l) => l !== folder).sort(), types: [...(layer.types ?? [])].sort() },
      ]),
    );
    // test/ may import anything: not a layer the rule checks.
    const { test: _tests, ...layers } = table;
    expect(layers).toEqual(expected);
  });
});
