/**
 * Issue 18: the API's request log, one line per request with no header but the user agent, and the
 * health checks an orchestrator polls all day at debug, out of an info log.
 */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { pinoHttp } from 'pino-http';
import { withoutCodecToken } from '../../api/codec-server';
import { createLogger, requestLogOptions } from '../../api/logging';

async function logOf(paths: string[]): Promise<Record<string, any>[]> {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk, _encoding, done) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const app = express();
  app.use(pinoHttp({ logger: pino({ level: 'info' }, sink), ...requestLogOptions }));
  for (const path of ['/healthz', '/readyz', '/metrics', '/v1/orders'])
    app.get(path, (_req, res) => res.json({}));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    for (const path of paths)
      await fetch(`http://127.0.0.1:${port}${path}`, {
        headers: {
          authorization: 'Bearer secret-token',
          cookie: 'session=secret-cookie',
          'x-signature': 't=1,v1=secret-signature',
          'idempotency-key': 'secret-key',
          'user-agent': 'probe',
        },
      });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return lines.map((line) => JSON.parse(line));
}

test('a request is one line: method, URL, status and time, its id, address and user agent; no header else', async () => {
  const [line, ...more] = await logOf(['/v1/orders?limit=1']);
  expect(more).toEqual([]);
  expect(line).toMatchObject({
    msg: expect.stringMatching(/^GET \/v1\/orders\?limit=1 200 in \d+ms$/),
    req: { method: 'GET', url: '/v1/orders?limit=1', userAgent: 'probe' },
    res: { statusCode: 200 },
  });
  expect(Object.keys(line!.req).sort()).toEqual(['id', 'method', 'remoteAddress', 'url', 'userAgent']);
  expect(Object.keys(line!.res)).toEqual(['statusCode']);
  expect(JSON.stringify(line)).not.toMatch(/secret|authorization|cookie|content-type/i);
});

test('health checks and metric scrapes are logged at debug, out of an info log', async () => {
  const lines = await logOf(['/healthz', '/readyz', '/metrics', '/v1/orders']);
  expect(lines.map((line) => line.req.url)).toEqual(['/v1/orders']);
});

test('a log call that passes request headers anyway has its credentials redacted', () => {
  const lines: string[] = [];
  const logger = createLogger('info', 'json', { write: (line: string) => void lines.push(line) });
  const headers = {
    authorization: 'Bearer secret-token',
    cookie: 'session=secret-cookie',
    'x-signature': 't=1,v1=secret-signature',
    'idempotency-key': 'secret-key',
    'user-agent': 'probe',
  };
  logger.info({ req: { headers }, headers }, 'careless');
  const [line] = lines.map((l) => JSON.parse(l));
  expect(line.req.headers).toEqual({
    authorization: '[redacted]',
    cookie: '[redacted]',
    'x-signature': '[redacted]',
    'idempotency-key': '[redacted]',
    'user-agent': 'probe',
  });
  expect(line.headers.authorization).toBe('[redacted]');
  expect(lines.join('')).not.toMatch(/secret/);
});

test('the signature of a webhook the service sends is redacted too, in either spelling', () => {
  const lines: string[] = [];
  const logger = createLogger('info', 'json', { write: (line: string) => void lines.push(line) });
  logger.info(
    {
      req: { headers: { 'webhook-signature': 't=1,v1=secret-a' } },
      headers: { 'Webhook-Signature': 't=1,v1=secret-b' },
    },
    'careless',
  );
  const [line] = lines.map((l) => JSON.parse(l));
  expect(line.req.headers['webhook-signature']).toBe('[redacted]');
  expect(line.headers['Webhook-Signature']).toBe('[redacted]');
  expect(lines.join('')).not.toMatch(/secret/);
});

test('a codec token in the path is out of the log, in any case and whatever follows it', async () => {
  const paths = [
    '/codec/secret-token-1/decode',
    '/Codec/secret-token-2/DECODE',
    '/codec/secret-token-3/not-a-route',
    '//codec/secret-token-4/decode?x=1',
  ];
  const lines = await logOf(paths);
  expect(lines.map((line) => line.req.url)).toEqual([
    '/codec/[token]/decode',
    '/codec/[token]/DECODE',
    '/codec/[token]/not-a-route',
    '/codec/[token]/decode?x=1',
  ]);
  expect(JSON.stringify(lines)).not.toMatch(/secret/);
  // A request line in absolute form, which Express routes as well.
  expect(withoutCodecToken('http://127.0.0.1:8080/codec/secret-token-5/decode')).toBe(
    'http://127.0.0.1:8080/codec/[token]/decode',
  );
});

test('a customer id or search text is out of the log, in the query or a members path; other filters stay', async () => {
  const lines = await logOf([
    '/v1/orders?limit=2&q=ann%40example.com&status=PAID',
    '/v1/orders?customerId=bob@example.com&customerid[]=carl@example.com&Q=dan@example.com#x',
    '/v1/members/erin@example.com?channel=web',
    '/V1//Members//fay@example.com',
  ]);
  expect(lines.map((line) => line.req.url)).toEqual([
    '/v1/orders?limit=2&q=[redacted]&status=PAID',
    '/v1/orders?customerId=[redacted]&customerid[]=[redacted]&Q=[redacted]',
    '/v1/members/[customer]?channel=web',
    '/V1//Members//[customer]',
  ]);
  expect(lines.map((line) => line.msg)).toEqual(lines.map((line) => expect.stringContaining(line.req.url)));
  expect(JSON.stringify(lines)).not.toMatch(/example/);
});
