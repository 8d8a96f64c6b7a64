import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { machines } from '../../domain/machines';

const root = path.resolve(__dirname, '..', '..');

test('the README shows the machines exactly as defined (run `npm run docs:machines` if this fails)', () => {
  // Prettier (which formats the section) cannot load inside jest's sandbox: check in a child.
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/render-machines.ts', '--check'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(out).toContain('current');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const machine of Object.values(machines)) {
    for (const t of machine.transitions) expect(readme).toContain(`${t.from} --> ${t.to}: ${t.action}`);
  }
});
