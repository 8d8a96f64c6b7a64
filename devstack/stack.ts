/**
 * The whole dev stack, the one place that starts it: PostgreSQL (DATABASE_URL or embedded),
 * Temporal (TEMPORAL_ADDRESS or the CLI's dev server), migrations, the worker and the API.
 * `npm start`, the tests and the benchmarks all come through here.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { signToken } from '../api/auth';
import type { Config } from '../config';
import { createDb, migrate } from '../db/knex';
import { databaseBeside, startEmbeddedPostgres, type RunningPostgres } from './postgres';
import { spawnService, type ServiceName } from './services';
import { type ClusterService, ensureServerBinaries, startCluster, type RunningCluster } from './cluster';
import {
  findTemporalCli,
  startTemporalDevServer,
  stopChild,
  TEMPORAL_CLI_MISSING,
  type RunningTemporal,
} from './temporal';
import { waitFor } from './wait';

export interface StackOptions {
  config: Config;
  /** The environment the worker and API children get (the config's variables are added to it). */
  env?: NodeJS.ProcessEnv;
  /** Keep Temporal's state in SQLite under DATA_DIR (npm start) or in memory (tests). */
  persistTemporal?: boolean;
  /** PostgreSQL flushes every commit to disk (npm start, the default); tests may trade that for speed. */
  fsync?: boolean;
  headless?: boolean;
  workers?: number;
  /** Restart a worker or API that dies unexpectedly (npm start); tests kill workers on purpose. */
  supervise?: boolean;
  log?: (source: string, line: string) => void;
}

export interface Stack {
  apiUrl: string;
  /** The payment provider the worker talks to: PAYMENT_PROVIDER_URL, or the sandbox started here. */
  paymentProviderUrl: string;
  /** The sandbox payment service's own database, when it was started here. */
  paymentSandboxDatabaseUrl: string | null;
  /** What the provider's webhooks are signed with. */
  paymentWebhookSecret: string | null;
  /** The warehouse service (the sandbox's, unless WAREHOUSE_URL) and what its webhooks are signed with. */
  warehouseUrl: string;
  warehouseWebhookSecret: string | null;
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl: string | null;
  /** The running service children; tests kill and replace them. */
  children: Map<string, ChildProcess>;
  childEnv: NodeJS.ProcessEnv;
  startService(name: ServiceName, key?: string, env?: NodeJS.ProcessEnv): ChildProcess;
  /** Stops and starts the embedded Temporal (the dev server: same port, same SQLite file), as an outage would. */
  restartTemporal(): Promise<void>;
  /** The embedded cluster's services (TEMPORAL_TOPOLOGY=cluster); null on the dev server. */
  temporalCluster: RunningCluster | null;
  /** SIGKILLs one service of the embedded cluster and starts it again after `downMs`. */
  killTemporalService(service: ClusterService, downMs?: number): Promise<void>;
  /** Stops and starts the embedded PostgreSQL (same port, same data). */
  restartPostgres(): Promise<void>;
  /** Process ids of the embedded servers, for memory readings. */
  serverPids(): { temporal: number[]; postgres?: number };
  stop(): Promise<void>;
}

export class StackStartError extends Error {}

/** The support codec token the dev server's Web UI sends to the codec server, in its endpoint's path. */
function webUiToken(config: Config): string {
  return signToken(config.AUTH_JWT_SECRET!, 'temporal-web-ui', 'support', {
    scope: 'codec',
    expiresIn: Math.floor(config.AUTH_TOKEN_MAX_LIFETIME / 1000),
    issuer: config.AUTH_JWT_ISSUER,
    audience: config.AUTH_JWT_AUDIENCE,
  });
}

/**
 * How long a stopping child may take before it is killed: the API answers requests under way (up
 * to ORDER_ANSWER_TIMEOUT, then 5 s more); a worker finishes its activities (WORKER_SHUTDOWN_GRACE),
 * then the webhook deliveries in flight (WEBHOOK_TIMEOUT each). 15 s at least, as before.
 */
export function stopGrace(
  config: Pick<Config, 'ORDER_ANSWER_TIMEOUT' | 'WORKER_SHUTDOWN_GRACE' | 'WEBHOOK_TIMEOUT'>,
) {
  return {
    api: Math.max(15_000, config.ORDER_ANSWER_TIMEOUT + 10_000),
    others: Math.max(15_000, config.WORKER_SHUTDOWN_GRACE + config.WEBHOOK_TIMEOUT + 5_000),
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { config } = options;
  const log = options.log ?? ((source, line) => process.stdout.write(`[${source}] ${line}\n`));
  let postgres: RunningPostgres | undefined;
  let temporal: RunningTemporal | undefined;
  let cluster: RunningCluster | undefined;
  let temporalOptions: Parameters<typeof startTemporalDevServer>[0] | undefined;
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const stop = async () => {
    stopping = true;
    // The APIs first, while the workers still answer the requests they are finishing; then the rest.
    // Each is given longer than its own drain (api/main.ts, worker/main.ts) before it is killed.
    const apis = [...children].filter(([key]) => key.startsWith('api')).map(([, c]) => c);
    await Promise.all(apis.map((c) => stopChild(c, stopGrace(config).api)));
    await Promise.all(
      [...children.values()]
        .filter((c) => !apis.includes(c))
        .map((c) => stopChild(c, stopGrace(config).others)),
    );
    await temporal?.stop();
    await cluster?.stop();
    await postgres?.stop();
  };

  try {
    let databaseUrl = config.DATABASE_URL;
    const startPostgres = () =>
      startEmbeddedPostgres({
        dataDir: config.DATA_DIR,
        port: config.EMBEDDED_PG_PORT,
        fsync: options.fsync ?? true,
        log: (line) => (/error|FATAL|PANIC/.test(line) ? log('postgres', line) : undefined),
        notice: (line) => log('postgres', line),
      });
    if (!databaseUrl) {
      postgres = await startPostgres();
      databaseUrl = postgres.url;
    }

    let temporalAddress = config.TEMPORAL_ADDRESS;
    let temporalUiUrl: string | null = null;
    if (!temporalAddress && config.TEMPORAL_TOPOLOGY === 'cluster') {
      const binaries = await ensureServerBinaries({
        dir: config.TEMPORAL_SERVER_DIR,
        log: (line) => log('temporal', line),
      });
      cluster = await startCluster({
        binaries,
        databaseUrl,
        frontendPort: config.TEMPORAL_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        log: (source, line) => log(source, line),
      });
      temporalAddress = cluster.address;
    } else if (!temporalAddress) {
      const cli = findTemporalCli(config.TEMPORAL_CLI_PATH);
      if (!cli) throw new StackStartError(TEMPORAL_CLI_MISSING);
      temporalOptions = {
        cli,
        port: config.TEMPORAL_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        dbFile: options.persistTemporal ? path.join(config.DATA_DIR, 'temporal.sqlite') : undefined,
        headless: options.headless,
        log: (line: string) => log('temporal', line),
        // With encryption on, the Web UI decodes payloads through the API's codec server, which
        // answers staff tokens only: the UI has no login, so its endpoint carries a support token.
        extraArgs: [
          '--ui-disable-news-fetch',
          ...(config.PAYLOAD_ENCRYPTION_KEYS && config.AUTH_JWT_SECRET
            ? ['--ui-codec-endpoint', `http://127.0.0.1:${config.PORT}/codec/${webUiToken(config)}`]
            : []),
        ],
      };
      temporal = await startTemporalDevServer(temporalOptions);
      temporalAddress = temporal.address;
      temporalUiUrl = temporal.uiUrl;
    }

    const db = createDb(databaseUrl, { pool: { min: 0, max: 2 }, queryTimeoutMs: 0 });
    try {
      const applied = await migrate(db);
      if (applied.length > 0) log('migrate', `applied ${applied.join(', ')}`);
    } finally {
      await db.destroy();
    }

    const childEnv: NodeJS.ProcessEnv = {
      // Their lines come through a pipe to this terminal, if it is one: readable, unless LOG_FORMAT says.
      ...(!options.log && process.stdout.isTTY ? { LOG_FORMAT: 'pretty' } : {}),
      // A stack on one machine: webhook subscribers on loopback are its own (a receiver under test).
      WEBHOOK_ALLOW_PRIVATE: 'true',
      ...process.env,
      ...options.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      PORT: String(config.PORT),
      // The console links each order to its workflow in this Web UI.
      ...(temporalUiUrl && !config.TEMPORAL_UI_URL ? { TEMPORAL_UI_URL: temporalUiUrl } : {}),
      // The dev server's Web UI may call the codec server from its origin (CORS).
      ...(temporalUiUrl && config.PAYLOAD_ENCRYPTION_KEYS && !config.CODEC_ALLOWED_ORIGINS
        ? { CODEC_ALLOWED_ORIGINS: `${temporalUiUrl},${temporalUiUrl.replace('localhost', '127.0.0.1')}` }
        : {}),
    };

    const startService = (
      name: ServiceName,
      key: string = name,
      env: NodeJS.ProcessEnv = childEnv,
    ): ChildProcess => {
      const child = spawnService(name, { env, log: (line) => log(key, line) });
      children.set(key, child);
      child.once('exit', (code, signal) => {
        if (stopping || children.get(key) !== child) return;
        children.delete(key);
        log(key, `exited (${signal ?? code})`);
        if (options.supervise) setTimeout(() => !stopping && startService(name, key, env), 1000);
      });
      return child;
    };

    // The payment provider: the configured one, or the sandbox payment service in a database of its own.
    let paymentProviderUrl = config.PAYMENT_PROVIDER_URL;
    let paymentSandboxDatabaseUrl: string | null = null;
    // The sandbox's webhooks are signed with a secret the two share; a real provider's is configured.
    const paymentWebhookSecret =
      config.PAYMENT_WEBHOOK_SECRET ?? (paymentProviderUrl ? undefined : randomBytes(24).toString('hex'));
    if (paymentWebhookSecret) childEnv.PAYMENT_WEBHOOK_SECRET = paymentWebhookSecret;
    if (!paymentProviderUrl) {
      paymentSandboxDatabaseUrl =
        config.PAYMENT_SANDBOX_DATABASE_URL ?? (await databaseBeside(databaseUrl, 'payment_sandbox'));
      startService('payments', 'payments', {
        ...childEnv,
        PAYMENT_SANDBOX_PORT: String(config.PAYMENT_SANDBOX_PORT),
        PAYMENT_SANDBOX_DATABASE_URL: paymentSandboxDatabaseUrl,
        PAYMENT_SANDBOX_LATENCY: `${config.PAYMENT_SANDBOX_LATENCY}ms`,
        PAYMENT_SANDBOX_ERROR_RATE: String(config.PAYMENT_SANDBOX_ERROR_RATE),
        PAYMENT_SANDBOX_SLOW: `${config.PAYMENT_SANDBOX_SLOW}ms`,
        PAYMENT_SANDBOX_UNLISTED: `${config.PAYMENT_SANDBOX_UNLISTED}ms`,
        PAYMENT_SANDBOX_ASYNC_DELAY: `${config.PAYMENT_SANDBOX_ASYNC_DELAY}ms`,
        PAYMENT_SANDBOX_AUTH_TTL: `${config.PAYMENT_SANDBOX_AUTH_TTL}ms`,
        PAYMENT_SANDBOX_SHORT_AUTH: `${config.PAYMENT_SANDBOX_SHORT_AUTH}ms`,
        PAYMENT_SANDBOX_KEY_TTL: `${config.PAYMENT_SANDBOX_KEY_TTL}ms`,
        PAYMENT_SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${config.PORT}/v1/inbound/payments`,
      });
      paymentProviderUrl = `http://127.0.0.1:${config.PAYMENT_SANDBOX_PORT}`;
      const healthz = `${paymentProviderUrl}/healthz`;
      await waitFor('the sandbox payment service', async () => (await fetch(healthz)).ok, 60_000, 200);
    }
    childEnv.PAYMENT_PROVIDER_URL = paymentProviderUrl;

    // The warehouse: the configured one, or the sandbox warehouse service in a database of its own.
    let warehouseUrl = config.WAREHOUSE_URL;
    const warehouseWebhookSecret =
      config.WAREHOUSE_WEBHOOK_SECRET ?? (warehouseUrl ? undefined : randomBytes(24).toString('hex'));
    if (warehouseWebhookSecret) childEnv.WAREHOUSE_WEBHOOK_SECRET = warehouseWebhookSecret;
    if (!warehouseUrl) {
      startService('warehouse', 'warehouse', {
        ...childEnv,
        WAREHOUSE_SANDBOX_PORT: String(config.WAREHOUSE_SANDBOX_PORT),
        WAREHOUSE_SANDBOX_DATABASE_URL:
          config.WAREHOUSE_SANDBOX_DATABASE_URL ??
          (await databaseBeside(databaseUrl, 'warehouse_sandbox', 'set WAREHOUSE_SANDBOX_DATABASE_URL')),
        WAREHOUSE_SANDBOX_STEP: `${config.WAREHOUSE_SANDBOX_STEP}ms`,
        WAREHOUSE_SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${config.PORT}/v1/inbound/fulfilment`,
      });
      warehouseUrl = `http://127.0.0.1:${config.WAREHOUSE_SANDBOX_PORT}`;
      const healthz = `${warehouseUrl}/healthz`;
      await waitFor('the sandbox warehouse service', async () => (await fetch(healthz)).ok, 60_000, 200);
    }
    childEnv.WAREHOUSE_URL = warehouseUrl;
    // The sandbox warehouse is the sandbox's code vendor too.
    const codeVendorUrl = config.CODE_VENDOR_URL ?? (config.WAREHOUSE_URL ? undefined : warehouseUrl);
    if (codeVendorUrl) childEnv.CODE_VENDOR_URL = codeVendorUrl;

    for (let i = 0; i < (options.workers ?? 1); i++)
      startService('worker', i === 0 ? 'worker' : `worker${i + 1}`);
    startService('api');
    const apiUrl = `http://127.0.0.1:${config.PORT}`;
    await waitFor('the API', async () => (await fetch(`${apiUrl}/readyz`)).status === 200, 120_000, 300);

    const restartTemporal = async () => {
      if (cluster) return cluster.restart();
      if (!temporal || !temporalOptions?.dbFile)
        throw new Error('only a persisted, embedded Temporal can be restarted');
      await temporal.stop();
      temporal = await startTemporalDevServer(temporalOptions);
    };
    const restartPostgres = async () => {
      if (!postgres) throw new Error('only the embedded PostgreSQL can be restarted');
      await postgres.stop();
      postgres = await startPostgres();
    };

    const killTemporalService = async (service: ClusterService, downMs?: number) => {
      if (!cluster) throw new Error('only the embedded cluster has services to kill');
      await cluster.killService(service, downMs);
    };

    const serverPids = () => ({
      temporal: [...(cluster ? cluster.processes.values() : temporal ? [temporal.process] : [])]
        .map((child) => child.pid)
        .filter((pid): pid is number => pid !== undefined),
      postgres: postgres?.process.pid,
    });

    return {
      serverPids,
      apiUrl,
      paymentProviderUrl,
      paymentSandboxDatabaseUrl,
      paymentWebhookSecret: paymentWebhookSecret ?? null,
      warehouseUrl,
      warehouseWebhookSecret: warehouseWebhookSecret ?? null,
      databaseUrl,
      temporalAddress,
      temporalUiUrl,
      children,
      childEnv,
      startService,
      restartTemporal,
      temporalCluster: cluster ?? null,
      killTemporalService,
      restartPostgres,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
