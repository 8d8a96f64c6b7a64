/**
 * Issue 9: Schemathesis (from PyPI) fuzzes the running service from its own /openapi.json: no
 * server errors and no response that breaks the documented schema, for each role's token.
 * Bounded: a fixed number of examples per operation and a seed, so a run is repeatable.
 * It runs in a jest pass of its own (package.json): it acts on every order it can list, so it
 * must not run beside tests whose orders are still moving.
 */
import { spawnSync } from 'node:child_process';
import { findTemporalBinary } from '../../devstack/temporal';
import { customer, merchant, support, apiUrl } from '../support/api';
import { tokenFor } from '../support/tokens';

const schemathesis = findTemporalBinary('schemathesis', process.env.SCHEMATHESIS_PATH);

test.each([
  ['customer', tokenFor('customer', customer().id)],
  ['merchant', tokenFor('merchant', merchant.id)],
  ['support', tokenFor('support', support.id)],
])(
  'schemathesis finds no server error and no schema violation as %s',
  (_role, token) => {
    if (!schemathesis)
      throw new Error('schemathesis not found: npm test installs it (scripts/setup.sh --test)');
    const run = spawnSync(
      schemathesis,
      [
        'run',
        `${apiUrl()}/openapi.json`,
        '--checks',
        'not_a_server_error,response_schema_conformance,content_type_conformance',
        '--header',
        `Authorization: Bearer ${token}`,
        '--max-examples',
        '10',
        '--seed',
        '20261124',
        '--request-timeout',
        '20',
        '--phases',
        'examples,fuzzing',
      ],
      { encoding: 'utf8', timeout: 420_000, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_HOOKS: '' } },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    if (run.status !== 0) console.log(output.slice(-6000));
    expect(run.status).toBe(0);
    expect(output).toMatch(/passed/i);
  },
  480_000,
);
