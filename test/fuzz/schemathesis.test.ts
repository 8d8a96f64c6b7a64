/**
 * Issues 9 and 17: Schemathesis (from PyPI) fuzzes the running service from its own /openapi.json
 * with every check it has: no server error, every status and response as documented, schema-valid
 * input accepted and invalid input refused, unsupported methods a 405. 60 examples an operation,
 * then the stateful phase, which follows the document's links through real orders (settings in
 * ./schemathesis.toml). The owner's operations run as one customer; the others as a merchant, as
 * support, and as that customer again (those two runs without the owner's: see below). Seeded, so
 * a run is repeatable.
 *
 * It runs in a jest pass of its own (package.json): it acts on every order it can reach, so it must
 * not run beside tests whose orders are still moving.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { findTemporalBinary } from '../../devstack/temporal';
import { apiUrl, call, customer, merchant, putProduct, support } from '../support/api';
import { tokenFor } from '../support/tokens';

const schemathesis = findTemporalBinary('schemathesis', process.env.SCHEMATHESIS_PATH);
const owner = customer('cus_fuzz');

beforeAll(async () => {
  // What the config's dictionaries name: products an order can hold, coupons it can use.
  for (const sku of ['fuzz-mug', 'fuzz-lamp']) await putProduct(sku, { price: 1250, stock: 100_000_000 });
  await call('PUT', '/v1/promotions/FUZZ10', { as: merchant, body: { kind: 'percent', value: 10 } });
  await call('PUT', '/v1/promotions/FUZZ-FIXED', { as: merchant, body: { kind: 'fixed', value: 300 } });
});

/**
 * The owner's operations (./schemathesis.toml) run as the same customer whoever the staff are:
 * the first run takes them, with the stateful phase through whole orders; the others fuzz only
 * what changes with the staff token (the same examples again would only double CI's time).
 */
const OWNER_OPERATIONS =
  '^(createOrder|getOrder|modifyOrder|payOrder|confirmOrder|cancelOrder|requestReturn|getReturn|openExchange|payExchange|cancelExchange|getExchange|previewEdit|confirmEdit|cancelEdit|getEdit|listOrders)$';

test.each([
  ['merchant', merchant, true],
  ['support', support, false],
  ['the customer', owner, false],
])(
  'schemathesis finds nothing wrong, staff operations as %s',
  (_name, staff, whole) => {
    if (!schemathesis)
      throw new Error('schemathesis not found: npm test installs it (scripts/setup.sh --test)');
    const run = spawnSync(
      schemathesis,
      [
        '--config-file',
        path.join(__dirname, 'schemathesis.toml'),
        'run',
        `${apiUrl()}/openapi.json`,
        '--seed',
        '20261124',
        ...(whole
          ? []
          : ['--exclude-operation-id-regex', OWNER_OPERATIONS, '--phases', 'examples,coverage,fuzzing']),
      ],
      {
        encoding: 'utf8',
        timeout: 420_000,
        cwd: path.join(__dirname, '..', '..', '.data'),
        env: {
          ...process.env,
          NO_COLOR: '1',
          SCHEMATHESIS_HOOKS: '',
          FUZZ_CUSTOMER_TOKEN: tokenFor(owner.role, owner.id),
          FUZZ_STAFF_TOKEN: tokenFor(staff.role, staff.id),
        },
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    if (run.status !== 0) console.log(output.slice(-8000));
    expect(run.status).toBe(0);
    if (whole) expect(output).toMatch(/Stateful/);
    expect(output).toMatch(/No issues found|passed/i);
  },
  480_000,
);
