/**
 * Issue 17: what `npm start` keeps on disk. Its PostgreSQL flushes commits (fsync on: "never lost"
 * must hold for a power cut too); the password file initdb reads is the postgres user's only and
 * gone afterwards; the development token secret is random, kept 0600, and made only for
 * development on loopback; the servers that are not ours get none of the service's settings.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../config';
import { developmentSecret } from '../../devstack/dev-secret';
import { startEmbeddedPostgres } from '../../devstack/postgres';
import { freePort } from '../../devstack/wait';
import { promisify } from 'node:util';

const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'orders-safety-'));
  await chmod(dir, 0o755); // the postgres user must reach its data directory inside
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('the embedded PostgreSQL of npm start runs with fsync on, and leaves no password file behind', async () => {
  const postgres = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  try {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const { rows } = await client.query('SHOW fsync');
    await client.end();
    expect(rows[0].fsync).toBe('on');
    expect(existsSync(path.join(dir, '.pgpass-init'))).toBe(false);
  } finally {
    await postgres.stop();
  }
}, 60_000);

test('the development secret is random, 0600, stable, and only for development on loopback', () => {
  const config = loadConfig({ DATA_DIR: dir, NODE_ENV: 'development' });
  const secret = developmentSecret(config);
  expect(secret.length).toBeGreaterThanOrEqual(40);
  expect(developmentSecret(config)).toBe(secret);
  expect(statSync(path.join(dir, 'dev-jwt-secret')).mode & 0o777).toBe(0o600);
  const other = loadConfig({ DATA_DIR: path.join(dir, 'elsewhere'), NODE_ENV: 'development' });
  expect(developmentSecret(other)).not.toBe(secret);
  expect(() => developmentSecret(loadConfig({ DATA_DIR: dir, NODE_ENV: 'test' }))).toThrow(/AUTH_JWT_SECRET/);
  expect(() => developmentSecret(loadConfig({ DATA_DIR: dir, API_HOST: '0.0.0.0' }))).toThrow(/loopback/);
  expect(
    developmentSecret(loadConfig({ DATA_DIR: dir, NODE_ENV: 'test', AUTH_JWT_SECRET: 'given-secret-1234' })),
  ).toBe('given-secret-1234');
});

test('PostgreSQL and the Temporal dev server get none of the settings: no secret in their environment', async () => {
  const marker = `leak-check-${process.pid}`;
  const probe = path.join(__dirname, '..', 'support', 'server-env-probe.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', probe, path.join(dir, 'env')], {
    env: { ...process.env, AUTH_JWT_SECRET: marker, PGPASSWORD: marker, PAYMENT_WEBHOOK_SECRET: marker },
    timeout: 80_000,
  });
  const seen: Record<'postgres' | 'temporal', string[]> = JSON.parse(stdout);
  for (const env of Object.values(seen)) {
    expect(env.filter((entry) => entry.includes(marker))).toEqual([]);
    expect(env.some((entry) => entry.startsWith('PATH='))).toBe(true);
  }
}, 90_000);
