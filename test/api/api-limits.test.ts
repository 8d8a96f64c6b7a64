/**
 * Issue 17: the API's own edges. A client address has a request budget before any token is
 * looked at; tokens are checked against the configured issuer and audience; and the API does not
 * start without a secret of its own (the public development secret is gone).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { signToken } from '../../api/auth';
import { stopChild } from '../../devstack/temporal';
import { freePort } from '../../devstack/wait';
import { ownApis } from '../support/own-services';
import { TEST_SECRET } from '../support/tokens';

const apis = ownApis();
const children: ChildProcess[] = [];
afterAll(async () => {
  await apis.stopAll();
  await Promise.all(children.map((c) => stopChild(c, 5000)));
});

test('a client address is limited before its tokens are read; issuer and audience are checked when set', async () => {
  const baseUrl = await apis.start({
    RATE_LIMIT_PER_IP_PER_MINUTE: '6',
    AUTH_JWT_ISSUER: 'https://id.example',
    AUTH_JWT_AUDIENCE: 'orders',
  });
  const get = (token?: string) =>
    fetch(`${baseUrl}/v1/orders`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const issued = signToken(TEST_SECRET, 'cus_iss', 'customer', {
    issuer: 'https://id.example',
    audience: 'orders',
  });
  const statuses = [
    (await get(issued)).status,
    (await get(signToken(TEST_SECRET, 'cus_iss', 'customer'))).status,
    (
      await get(
        signToken(TEST_SECRET, 'cus_iss', 'customer', { issuer: 'https://evil.example', audience: 'orders' }),
      )
    ).status,
  ];
  expect(statuses).toEqual([200, 401, 401]);
  // A flood of bad tokens from one address meets the per-address limit, and then so does a good one.
  for (let i = 0; i < 3; i++) expect((await get('garbage')).status).toBe(401);
  const limited = await get(issued);
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('60');
  expect(limited.headers.get('content-type')).toMatch(/problem\+json/);
  expect((await fetch(`${baseUrl}/codec/decode`, { method: 'POST' })).status).toBe(429);
  // Health checks are not counted: a load balancer keeps seeing the API.
  expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
}, 90_000);

test('the API refuses to start without AUTH_JWT_SECRET', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '..', '..', 'api', 'main.ts')],
    {
      env: { ...process.env, AUTH_JWT_SECRET: '', PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(stderr).toMatch(/AUTH_JWT_SECRET: must be set/);
}, 60_000);
