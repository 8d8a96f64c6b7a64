/**
 * The production topology on one machine (`npm run cluster`, `npm run test:cluster`): the Temporal
 * server itself, not the CLI's dev server. Its frontend, history, matching and worker services run
 * as separate processes of the pinned server build, on PostgreSQL (persistence and SQL visibility,
 * two databases beside the order center's), with HISTORY_SHARDS shards; the namespace and the order
 * search attributes are registered through the operator API, as on any cluster of one's own.
 *
 * The server is a Go module: built once per version from the Go module proxy (a few minutes) into a
 * cache folder that later runs reuse, or taken from TEMPORAL_SERVER_DIR. Both processes' settings
 * come from temporal-cluster/server.yaml, the same file the containers of temporal-dev.yml mount.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { msToTs } from '@temporalio/common/lib/time';
import { missingSearchAttributes, registerSearchAttributes } from '../api/search-attributes';
import { databaseBeside } from './postgres';
import { serverEnv } from './server-env';
import { ROOT } from './services';
import { executable, stopChild } from './temporal';
import { freePort, portOpen, waitFor } from './wait';

const run = promisify(execFile);

/** The server build the topology runs; temporal-dev.yml's images carry the same version. */
export const TEMPORAL_SERVER_VERSION = '1.32.2';
/** The server module needs a newer Go than the machine's: the go command fetches this one from the proxy. */
export const GO_TOOLCHAIN = 'go1.27.3';
/** History shards: fixed for the life of the persistence database (temporal-cluster/server.yaml). */
export const HISTORY_SHARDS = 4;
/** How long closed workflows stay in the namespace. */
export const NAMESPACE_RETENTION_HOURS = 72;
/** In the order they start: frontend needs history to serve, the system worker needs the frontend. */
export const CLUSTER_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

export const SERVER_CONFIG = path.join(ROOT, 'temporal-cluster', 'server.yaml');
export const DYNAMIC_CONFIG = path.join(ROOT, 'temporal-cluster', 'dynamicconfig.yaml');
export const SCHEMA_SCRIPT = path.join(ROOT, 'temporal-cluster', 'setup-schema.sh');

export interface ServerBinaries {
  server: string;
  sqlTool: string;
}

/** Where the build is kept: TEMPORAL_SERVER_DIR, else a cache folder named for the version. */
export function serverDir(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'order-service', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

const binariesIn = (dir: string): ServerBinaries => ({
  server: path.join(dir, 'temporal-server'),
  sqlTool: path.join(dir, 'temporal-sql-tool'),
});

/**
 * The server and its schema tool: found in `dir`, or built there by `go install` from the module
 * proxy (into a partial folder renamed into place, so an interrupted build is never taken for one).
 */
export async function ensureServerBinaries(options: {
  dir?: string;
  log?: (line: string) => void;
}): Promise<ServerBinaries> {
  const dir = serverDir(options.dir);
  const found = binariesIn(dir);
  if (executable(found.server) && executable(found.sqlTool)) return found;
  if (options.dir)
    throw new Error(`TEMPORAL_SERVER_DIR (${dir}) holds no runnable temporal-server and temporal-sql-tool`);
  options.log?.(
    `building the Temporal server v${TEMPORAL_SERVER_VERSION} from the Go module proxy into ${dir} (a few minutes, once)`,
  );
  // An interrupted build leaves its partial folder (some 200 MB): the next build clears them all.
  await mkdir(path.dirname(dir), { recursive: true });
  for (const entry of await readdir(path.dirname(dir)))
    if (entry.startsWith(`${path.basename(dir)}.partial-`))
      await rm(path.join(path.dirname(dir), entry), { recursive: true, force: true });
  const partial = `${dir}.partial-${process.pid}`;
  await mkdir(partial, { recursive: true });
  const module = 'go.temporal.io/server';
  try {
    await run(
      'go',
      [
        'install',
        `${module}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
        `${module}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
      ],
      {
        env: { ...process.env, GOBIN: partial, GOTOOLCHAIN: process.env.GOTOOLCHAIN || GO_TOOLCHAIN },
        maxBuffer: 16 * 1024 * 1024,
        // Bounded: a proxy that stops answering fails the start instead of hanging it.
        timeout: 30 * 60_000,
      },
    );
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    const missingGo = (err as { code?: string }).code === 'ENOENT';
    throw new Error(
      missingGo
        ? `Go is needed to build the Temporal server (https://go.dev/dl), or set TEMPORAL_SERVER_DIR to a folder with temporal-server and temporal-sql-tool v${TEMPORAL_SERVER_VERSION}`
        : `building the Temporal server failed:\n${String((err as { stderr?: string }).stderr ?? err).slice(-4000)}`,
    );
  }
  await rename(path.join(partial, 'server'), path.join(partial, 'temporal-server'));
  await rename(path.join(partial, 'sql'), path.join(partial, 'temporal-sql-tool'));
  await rename(partial, dir).catch(async (err) => {
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw err; // else a concurrent build put its copy in place first
  });
  if (!executable(found.server) || !executable(found.sqlTool))
    throw new Error(`the Temporal server build in ${dir} is incomplete: delete the folder and start again`);
  return found;
}

/** The two databases of the server beside the order center's, their schemas applied or brought up to date. */
export async function prepareClusterDatabases(options: {
  sqlTool: string;
  databaseUrl: string;
}): Promise<{ persistence: string; visibility: string }> {
  const otherwise = 'run the cluster with a DATABASE_URL whose user may';
  const persistence = await databaseBeside(options.databaseUrl, 'temporal', otherwise);
  const visibility = await databaseBeside(options.databaseUrl, 'temporal_visibility', otherwise);
  const target = new URL(persistence);
  // The same steps as temporal-dev.yml's set-up; the password goes through the environment, never
  // the command line (which `ps` shows).
  await run('sh', [SCHEMA_SCRIPT], {
    env: serverEnv({
      TEMPORAL_SQL_TOOL: options.sqlTool,
      SQL_PLUGIN: 'postgres12',
      SQL_HOST: target.hostname,
      SQL_PORT: target.port || '5432',
      SQL_USER: decodeURIComponent(target.username),
      SQL_PASSWORD: decodeURIComponent(target.password),
      TEMPORAL_DB_NAME: target.pathname.slice(1),
      TEMPORAL_VISIBILITY_DB_NAME: new URL(visibility).pathname.slice(1),
    }),
  });
  return { persistence, visibility };
}

/**
 * Empties the server's membership table. Rows outlive their services (they expire after 48 h) and
 * count as members for 20 s after their last heartbeat: a service started on new ports within that
 * time would try to join only those dead addresses, backing off until its join gives up (1 min and
 * more here, past `maxJoinDuration`). Only for a cluster whose services are all this process's.
 */
async function forgetMembers(persistenceUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: persistenceUrl });
  await client.connect();
  try {
    await client.query('DELETE FROM cluster_membership');
  } finally {
    await client.end();
  }
}

export interface RunningCluster {
  /** The frontend's gRPC address: what TEMPORAL_ADDRESS points at. */
  address: string;
  processes: Map<ClusterService, ChildProcess>;
  /** SIGKILLs one service and, after `downMs`, starts it again on the same ports. */
  killService(service: ClusterService, downMs?: number): Promise<void>;
  /** Stops every service and starts them again (a rolling restart would keep the frontend up). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(options: {
  binaries: ServerBinaries;
  databaseUrl: string;
  frontendPort: number;
  namespace: string;
  log?: (service: string, line: string) => void;
}): Promise<RunningCluster> {
  const databases = await prepareClusterDatabases({
    sqlTool: options.binaries.sqlTool,
    databaseUrl: options.databaseUrl,
  });
  const db = new URL(databases.persistence);
  const address = `127.0.0.1:${options.frontendPort}`;
  const env: NodeJS.ProcessEnv = serverEnv({
    TEMPORAL_DB_ADDRESS: `${db.hostname}:${db.port || '5432'}`,
    TEMPORAL_DB_USER: decodeURIComponent(db.username),
    TEMPORAL_DB_PASSWORD: decodeURIComponent(db.password),
    TEMPORAL_DB_NAME: db.pathname.slice(1),
    TEMPORAL_VISIBILITY_DB_NAME: new URL(databases.visibility).pathname.slice(1),
    TEMPORAL_HISTORY_SHARDS: String(HISTORY_SHARDS),
    TEMPORAL_DYNAMIC_CONFIG: DYNAMIC_CONFIG,
    TEMPORAL_FRONTEND_ADDRESS: address,
    TEMPORAL_FRONTEND_PORT: String(options.frontendPort),
    // The server asks the internet for newer versions unless told not to.
    TEMPORAL_VERSION_CHECK_DISABLED: '1',
  });
  /** The services' own ports (not the frontend's, which is the stack's setting): distinct, and free when chosen. */
  const ownPorts = () =>
    CLUSTER_SERVICES.flatMap((service) => [
      ...(service === 'frontend'
        ? ['TEMPORAL_FRONTEND_HTTP_PORT']
        : [`TEMPORAL_${service.toUpperCase()}_PORT`]),
      `TEMPORAL_${service.toUpperCase()}_MEMBERSHIP_PORT`,
    ]);
  // freePort never gives a port twice: distinct from each other and from the stack's own.
  const choosePorts = async () => {
    for (const name of ownPorts()) env[name] = String(await freePort());
  };
  await choosePorts();

  const processes = new Map<ClusterService, ChildProcess>();
  const recent = new Map<ClusterService, string[]>();
  const startService = (service: ClusterService) => {
    const child = spawn(
      options.binaries.server,
      ['--config-file', SERVER_CONFIG, '--allow-no-auth', 'start', '--service', service],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: string[] = [];
    recent.set(service, lines);
    // A binary that cannot be run at all: recorded like a crash (serving() reports it), not thrown here.
    child.on('error', (err) => lines.push(`could not run ${options.binaries.server}: ${err.message}`));
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          const kept = withoutStack(line);
          lines.push(kept);
          if (lines.length > 30) lines.shift();
          options.log?.(`temporal-${service}`, kept);
        }
      });
    processes.set(service, child);
    return child;
  };

  /** Every service still runs: one that could not take its port exits at once, after another process answered there. */
  const allRunning = () => {
    for (const service of CLUSTER_SERVICES) {
      const child = processes.get(service);
      if (!child || child.exitCode !== null || child.signalCode !== null)
        throw new Error(`temporal ${service} exited:\n${recent.get(service)?.join('\n')}`);
    }
  };

  /** Until `service` listens on its gRPC port; a process that exits meanwhile ends the wait with its last lines. */
  const serving = async (service: ClusterService) => {
    const port = Number(env[`TEMPORAL_${service.toUpperCase()}_PORT`]);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const child = processes.get(service)!;
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
        throw new Error(`temporal ${service} exited:\n${recent.get(service)?.join('\n')}`);
      if (await portOpen(port)) {
        // A service that could not take its port exits at once: it must still run a moment later.
        await new Promise((r) => setTimeout(r, 500));
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`temporal ${service} exited:\n${recent.get(service)?.join('\n')}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`temporal ${service} did not listen on ${port} within 120s`);
  };

  /**
   * The cluster serves workflows: the namespace is known, and history answers for every shard (a
   * workflow that does not exist is NOT_FOUND from history, where a shard without an owner, or a
   * history service not yet in the membership, is UNAVAILABLE). Ids spread over the shards.
   */
  const connectionReady = async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: options.namespace });
      // 16 ids per shard: the chance that a shard gets none is 4 × (3/4)^64, about 4 in 100 million.
      for (let i = 0; i < HISTORY_SHARDS * 16; i++)
        await connection.workflowService
          .describeWorkflowExecution({
            namespace: options.namespace,
            execution: { workflowId: `readiness-probe-${i}` },
          })
          .catch((err: { code?: number }) => {
            if (err.code !== 5 /* NOT_FOUND */) throw err;
          });
      return true;
    } finally {
      await connection.close();
    }
  };

  // One after the other: the first to start on an empty database writes the cluster's metadata,
  // and services starting together race to do it (the losers exit).
  const up = async () => {
    // Another server on the frontend's port (a dev server of `npm start`) would answer in its place.
    if (await portOpen(options.frontendPort))
      throw new Error(`port ${options.frontendPort} (TEMPORAL_PORT) is taken by another process`);
    // None of the services runs here (first start, or after stop()): the members listed are an
    // earlier run's, on other ports.
    await forgetMembers(databases.persistence);
    for (const service of CLUSTER_SERVICES) {
      // Checked just before the service starts: one that answers already is another process's.
      for (const name of ownPorts().filter((n) => n.startsWith(`TEMPORAL_${service.toUpperCase()}_`)))
        if (await portOpen(Number(env[name]))) throw new PortTaken(`port ${env[name]} (${name}) is taken`);
      startService(service);
      await serving(service);
    }
  };

  const stop = async () => {
    for (const service of [...CLUSTER_SERVICES].reverse()) {
      const child = processes.get(service);
      if (child) await stopChild(child, 10_000);
    }
  };

  /** The services up and serving; their ports chosen again once if one was taken meanwhile. */
  const start = async (retry: boolean): Promise<void> => {
    try {
      await up();
      allRunning();
      await serve();
      allRunning();
    } catch (err) {
      await stop();
      const taken =
        err instanceof PortTaken ||
        [String(err), ...[...recent.values()].flat()].some((line) => /address already in use/.test(line));
      if (!retry || !taken) throw err;
      await choosePorts();
      return start(false);
    }
  };

  const serve = async () => {
    // The frontend listens before it serves (it waits for history and matching to join).
    await waitFor(
      'the Temporal frontend',
      async () => {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
          return true;
        } finally {
          await connection.close();
        }
      },
      120_000,
      500,
      allRunning,
    );
    const connection = await Connection.connect({ address });
    try {
      await prepareNamespace(connection, options.namespace);
    } finally {
      await connection.close();
    }
    await waitFor('the Temporal cluster', connectionReady, 120_000, 500, allRunning);
  };

  await start(true);

  return {
    address,
    processes,
    async killService(service, downMs = 0) {
      const child = processes.get(service);
      if (child) await stopChild(child, 0, 'SIGKILL');
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      startService(service);
      await serving(service);
      await waitFor('the Temporal cluster', connectionReady, 120_000, 500);
      allRunning();
    },
    // Everything stopped first, so new ports are safe if another process took one meanwhile.
    async restart() {
      await stop();
      await start(true);
    },
    stop,
  };
}

/** One of the services' own ports answers before its service started: another process holds it. */
class PortTaken extends Error {}

/** A server log line without its Go stack trace (a JSON field of many lines' worth). */
function withoutStack(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { stacktrace: _stack, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(rest);
  } catch {
    return line;
  }
}

/**
 * The namespace (with its retention period) unless it is there, then the order search attributes,
 * through the operator API, as on any cluster of one's own; each waits until the frontend's caches
 * show it. Idempotent: `npm run cluster` and temporal-dev.yml's set-up run it at every start.
 */
export async function prepareNamespace(connection: Connection, namespace: string): Promise<void> {
  await waitFor(
    `the namespace ${namespace}`,
    async () => {
      const exists = await connection.workflowService
        .describeNamespace({ namespace })
        .then(() => true)
        .catch((err: { code?: number }) => {
          if (err.code === 5 /* NOT_FOUND */) return false;
          throw err;
        });
      if (exists) return true;
      await connection.workflowService
        .registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs(`${NAMESPACE_RETENTION_HOURS}h`),
        })
        .catch((err: { code?: number }) => {
          if (err.code !== 6 /* ALREADY_EXISTS */) throw err;
        });
      return false;
    },
    120_000,
    500,
  );
  await waitFor(
    'the order search attributes',
    async () => {
      await registerSearchAttributes(connection, namespace);
      return (await missingSearchAttributes(connection, namespace)).length === 0;
    },
    60_000,
    500,
  );
}
