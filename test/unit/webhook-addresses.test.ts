/** Issue 22: where a webhook may go (public addresses only unless allowed), and how retries back off. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isPrivateAddress, NameLookupUnavailable, urlProblem } from '../../services/webhooks/addresses';
import { toProblem } from '../../api/problem';
import { postWebhook } from '../../services/webhooks/send';

test.each([
  ['127.0.0.1', true],
  ['10.2.3.4', true],
  ['172.16.0.1', true],
  ['172.32.0.1', false],
  ['192.168.1.1', true],
  ['169.254.169.254', true],
  ['100.64.0.1', true],
  ['0.0.0.0', true],
  ['224.0.0.1', true],
  ['8.8.8.8', false],
  ['93.184.216.34', false],
  ['::1', true],
  ['::', true],
  ['fd00::1', true],
  ['fe80::1', true],
  ['::ffff:10.0.0.1', true],
  ['::ffff:8.8.8.8', false],
  ['::127.0.0.1', true],
  ['fec0::1', true],
  ['64:ff9b:1::a00:1', true],
  ['2001:0:4136:e378::1', true],
  ['2002:a00:1::1', true],
  ['2001:db8::1', true],
  ['100::1', true],
  ['2001:4860:4860::8888', false],
  ['2606:4700:4700::1111', false],
  ['not-an-address', true],
])('%s is private: %s', (address, inside) => {
  expect(isPrivateAddress(address)).toBe(inside);
});

test('subscriber URLs: http(s), no credentials, and (unless allowed) nothing that resolves inside', async () => {
  const strict = { allowPrivate: false };
  expect(await urlProblem('ftp://8.8.8.8/x', strict)).toBe('scheme');
  expect(await urlProblem('not a url', strict)).toBe('scheme');
  expect(await urlProblem('http://u:p@8.8.8.8/x', strict)).toBe('credentials');
  expect(await urlProblem('http://127.0.0.1:8080/x', strict)).toBe('private');
  expect(await urlProblem('http://[::1]/x', strict)).toBe('private');
  expect(await urlProblem('http://localhost/x', strict)).toBe('private');
  expect(await urlProblem('https://8.8.8.8/hooks', strict)).toBeNull();
  expect(await urlProblem('http://127.0.0.1:8080/x', { allowPrivate: true })).toBeNull();
});

test('a name that does not exist is refused; a resolver that does not answer is an outage, not a refusal', async () => {
  const failing = (code: string) => async () => {
    throw Object.assign(new Error(`getaddrinfo ${code}`), { code });
  };
  expect(
    await urlProblem('https://no.such.name/x', { allowPrivate: false, lookup: failing('ENOTFOUND') }),
  ).toBe('unresolvable');
  for (const code of ['EAI_AGAIN', 'ESERVFAIL'])
    await expect(
      urlProblem('https://hooks.example/x', { allowPrivate: false, lookup: failing(code) }),
    ).rejects.toThrow(NameLookupUnavailable);
  const silent = () => new Promise<never>(() => {});
  await expect(
    urlProblem('https://hooks.example/x', { allowPrivate: false, lookup: silent, timeoutMs: 20 }),
  ).rejects.toThrow(NameLookupUnavailable);
  // The outage answers 503 with a Retry-After, in the service's own words.
  expect(toProblem(new NameLookupUnavailable('x'))).toMatchObject({ status: 503, retryAfter: 5 });
});

test('a delivery checks the address it connects to, every time', async () => {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const send = (host: string, allowPrivate: boolean) =>
      postWebhook(`http://${host}:${port}/x`, '{}', {}, { allowPrivate, timeoutMs: 2000 });
    // A name that resolves inside, and a literal inside address: refused before any byte is sent.
    expect(await send('localhost', false)).toEqual({ ok: false, error: 'address not allowed' });
    expect(await send('127.0.0.1', false)).toEqual({ ok: false, error: 'address not allowed' });
    expect(hits).toBe(0);
    expect(await send('127.0.0.1', true)).toEqual({ ok: true, status: 204 });
    expect(hits).toBe(1);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  expect(
    await postWebhook(`http://127.0.0.1:${port}/x`, '{}', {}, { allowPrivate: true, timeoutMs: 2000 }),
  ).toEqual({
    ok: false,
    error: 'connection refused',
  });
});
