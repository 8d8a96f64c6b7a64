/**
 * Issue 17: a PostgreSQL that stops answering (frozen, not down: connections stay open and
 * nothing comes back) is a 503 within DATABASE_QUERY_TIMEOUT, not a request that hangs; and the
 * API is back by itself when the database is. The freeze is a loopback proxy that stops passing bytes.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { createDb } from '../../db/knex';
import { freePort, waitFor } from '../../devstack/wait';
import { call, customer, merchant } from '../support/api';
import { ownApis } from '../support/own-services';

/** A TCP proxy to PostgreSQL that can be frozen: sockets stay open, no byte moves either way. */
function freezableProxy(target: { host: string; port: number }) {
  const pairs: [net.Socket, net.Socket][] = [];
  let frozen = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    pairs.push([client, upstream]);
    if (frozen) for (const s of [client, upstream]) s.pause();
  });
  return {
    listen: (port: number) => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    freeze() {
      frozen = true;
      for (const pair of pairs) for (const s of pair) s.pause();
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) for (const s of pair) s.resume();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const pair of pairs) for (const s of pair) s.destroy();
        server.close(() => r());
      }),
  };
}

const apis = ownApis();
let proxy: ReturnType<typeof freezableProxy> | undefined;
afterAll(async () => {
  proxy?.thaw();
  await apis.stopAll();
  await proxy?.close();
});

test('a frozen database is a 503 within DATABASE_QUERY_TIMEOUT, and the API recovers', async () => {
  const pg = new URL(process.env.DATABASE_URL!);
  proxy = freezableProxy({ host: pg.hostname, port: Number(pg.port) });
  const proxyPort = await freePort();
  await proxy.listen(proxyPort);
  pg.port = String(proxyPort);
  const baseUrl = await apis.start({ DATABASE_URL: pg.toString(), DATABASE_QUERY_TIMEOUT: '1s' });
  await waitFor('api', async () => (await fetch(`${baseUrl}/readyz`)).status === 200, 60_000);
  const who = customer();
  expect((await call('GET', '/v1/orders', { as: who, baseUrl })).status).toBe(200);

  proxy.freeze();
  for (const [method, path, as, body] of [
    ['GET', '/v1/orders', who, undefined],
    ['GET', '/v1/orders/ord_frozen', who, undefined],
    ['GET', '/v1/products/anything', merchant, undefined],
    ['PUT', '/v1/members/cus_frozen', merchant, { tier: 'gold' }],
  ] as const) {
    const started = Date.now();
    const reply = await call(method, path, { as, baseUrl, body });
    const tookMs = Date.now() - started;
    expect({ path, status: reply.status, retryAfter: reply.headers.get('retry-after') }).toEqual({
      path,
      status: 503,
      retryAfter: '5',
    });
    // The driver waits the statement timeout and a second more; well short of a gateway's 30 s.
    expect(tookMs).toBeLessThan(5_000);
    expect(JSON.stringify(reply.body)).not.toMatch(/select|insert|timeout exceeded|Query read/i);
  }

  proxy.thaw();
  await waitFor(
    'the API to answer again',
    async () => (await call('GET', '/v1/orders', { as: who, baseUrl })).status === 200,
    30_000,
  );
}, 120_000);

test('a migration does not queue behind a lock for ever: with a lock timeout its statement fails fast', async () => {
  const table = `lock_probe_${randomUUID().slice(0, 8)}`;
  const holder = createDb(process.env.DATABASE_URL!, { pool: { min: 0, max: 1 } });
  const migrating = createDb(process.env.DATABASE_URL!, {
    pool: { min: 0, max: 1 },
    queryTimeoutMs: 0,
    lockTimeoutMs: 300,
  });
  try {
    await holder.schema.createTable(table, (t) => t.integer('id'));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    // A long reader holds the table, as an export would.
    const reading = holder.transaction(async (trx) => {
      await trx.raw(`LOCK TABLE ${table} IN ACCESS SHARE MODE`);
      await released;
    });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await expect(migrating.schema.alterTable(table, (t) => t.text('more'))).rejects.toMatchObject({
      code: '55P03',
    });
    expect(Date.now() - started).toBeLessThan(5000);
    release();
    await reading;
    // Once the reader is done, the same change goes through.
    await migrating.schema.alterTable(table, (t) => t.text('more'));
  } finally {
    await holder.schema.dropTableIfExists(table);
    await Promise.all([holder.destroy(), migrating.destroy()]);
  }
});
