/**
 * Issue 10: temporal-dev.yml and the Dockerfile agree with the code, checked without a Docker
 * engine: every service, port, image tag and variable; every build stage that is used exists.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { FAILURE_CONVERTER_PATH } from '../../codec/data-converter';
import { CONFIG_VARIABLES, loadConfig } from '../../config';
import { WORKFLOW_SOURCES } from '../../worker/create-worker';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/messages';

const root = path.resolve(__dirname, '..', '..');
const compose = parse(readFileSync(path.join(root, 'temporal-dev.yml'), 'utf8'), { merge: true });
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const services: Record<string, any> = compose.services;
const defaults = loadConfig({});

test('the stack has every part: Temporal on PostgreSQL, its UI and admin tools, the order database, migrations, API, worker and the sandbox payment service', () => {
  expect(Object.keys(services).sort()).toEqual(
    [
      'api',
      'migrate',
      'orders-postgresql',
      'payment-sandbox',
      'payments-postgresql',
      'temporal',
      'temporal-admin-tools',
      'temporal-postgresql',
      'temporal-ui',
      'worker',
    ].sort(),
  );
  expect(services.temporal.environment.DB).toBe('postgres12');
  expect(services.temporal.environment.POSTGRES_SEEDS).toBe('temporal-postgresql');
  // The provider is another system with its own database, reached by URL; its entry is compiled into the image.
  const sandbox = services['payment-sandbox'];
  expect(sandbox.command).toEqual(['node', 'dist/sandboxes/payments/main.js']);
  expect(sandbox.environment.PAYMENT_SANDBOX_DATABASE_URL).toContain('@payments-postgresql:5432/');
  expect(services.worker.environment.PAYMENT_PROVIDER_URL).toBe(
    `http://payment-sandbox:${sandbox.environment.PAYMENT_SANDBOX_PORT}`,
  );
  const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  expect(build.include).toContain('sandboxes');
});

test('every image is pinned to a version', () => {
  for (const [name, service] of Object.entries(services)) {
    if (service.build) continue;
    expect({ name, image: service.image }).toEqual({
      name,
      image: expect.stringMatching(/^[\w./-]+:\d[\w.-]*$/),
    });
  }
});

test('ports follow the configuration table', () => {
  const published = (name: string) => (services[name].ports as string[]).map((p) => p.split(':'));
  expect(published('api')).toEqual([[String(defaults.PORT), String(defaults.PORT)]]);
  expect(published('temporal')).toEqual([[String(defaults.TEMPORAL_PORT), '7233']]);
  expect(published('temporal-ui')[0]![0]).toBe(String(defaults.TEMPORAL_UI_PORT));
  expect(services.api.environment.PORT).toBe(String(defaults.PORT));
});

test("the service's variables are all ones the configuration module reads, and they load", () => {
  for (const name of ['api', 'worker', 'migrate']) {
    const env = services[name].environment as Record<string, string>;
    expect({ name, unknown: Object.keys(env).filter((k) => !CONFIG_VARIABLES.includes(k)) }).toEqual({
      name,
      unknown: [],
    });
    const values = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [
        k,
        String(v).replace(/\$\{AUTH_JWT_SECRET[^}]*\}/, 'a-secret-of-sixteen-chars'),
      ]),
    );
    const config = loadConfig(values);
    expect(config.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(config.DATABASE_URL).toContain('@orders-postgresql:5432/');
  }
  expect(services.api.environment.API_HOST).toBe('0.0.0.0');
});

test('the admin tools register exactly the search attributes the workflows use', () => {
  const script = services['temporal-admin-tools'].entrypoint.join(' ');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES))
    expect(script).toContain(`${name}=${type}`);
});

test('the Dockerfile builds the stages the stack uses, and copies from stages that exist', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
  expect(stages).toEqual(['deps', 'build', 'runtime']);
  for (const m of dockerfile.matchAll(/--from=(\S+)/g)) expect(stages).toContain(m[1]);
  for (const m of dockerfile.matchAll(/^FROM\s+(\S+)/gim))
    if (!stages.includes(m[1])) expect(m[1]).toMatch(/:\d/);
  for (const name of ['api', 'worker', 'migrate']) {
    expect(services[name].build.target).toBe('runtime');
    // The command runs a file the build emits (tsc's dist/ mirrors the source tree).
    const entry = (services[name].command as string[])[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    expect(readFileSync(path.join(root, entry), 'utf8').length).toBeGreaterThan(0);
  }
  expect(dockerfile).toContain('WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js');
  expect(CONFIG_VARIABLES).toContain('WORKFLOW_BUNDLE_PATH');
});

test('modules loaded by path (the failure converter) are compiled into the image too', () => {
  // tsc emits what the included folders import; a module named only by path must be included itself.
  const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as {
    include: string[];
  };
  for (const file of [FAILURE_CONVERTER_PATH, ...Object.values(WORKFLOW_SOURCES)]) {
    const relative = path.relative(root, file);
    expect({ relative, included: build.include.some((i) => relative.startsWith(i)) }).toEqual({
      relative,
      included: true,
    });
  }
});
