/**
 * A statement's error without a SQLSTATE (the driver's: a connection dropped mid-statement) still
 * names no statement in what logs and failures carry. knex writes the statement in front of it.
 */
import net from 'node:net';
import { createDb } from '../../db/knex';
import { describeError, isDatabaseOutage } from '../../db/errors';
import { toActivityFailure } from '../../activities/failures';
import { describeError as sandboxDescribeError, sandboxDb } from '../../sandboxes/payments/ledger';

/** A protocol message: its type, its length, its body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** One text row of one column, as a simple query's answer, then ready again. */
function rowAnswer(value: string): Buffer {
  const field = Buffer.alloc(18);
  field.writeInt32BE(25, 6); // text
  field.writeInt16BE(-1, 10);
  field.writeInt32BE(-1, 12);
  const cell = Buffer.from(value);
  const len = Buffer.alloc(4);
  len.writeInt32BE(cell.length);
  return Buffer.concat([
    message('T', Buffer.concat([Buffer.from([0, 1]), Buffer.from('version\0'), field])),
    message('D', Buffer.concat([Buffer.from([0, 1]), len, cell])),
    message('C', Buffer.from('SELECT 1\0')),
    message('Z', Buffer.from('I')),
  ]);
}

/**
 * A PostgreSQL that lets a client in and answers knex's version check (a simple query), then
 * drops the connection at the first statement (the extended protocol's Parse).
 */
async function droppingServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let started = false;
    socket.on('data', (data) => {
      if (!started) {
        started = true;
        const authOk = message('R', Buffer.alloc(4));
        return void socket.write(Buffer.concat([authOk, message('Z', Buffer.from('I'))]));
      }
      if (data[0] === 0x51) return void socket.write(rowAnswer('PostgreSQL 16.0'));
      socket.destroy();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a query failed with (it must fail). */
const failureOf = (query: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(query).then(
    () => {
      throw new Error('the query was expected to fail');
    },
    (e: unknown) => e,
  );

test('a connection lost under a statement is described without the statement', async () => {
  const server = await droppingServer();
  const db = createDb(`postgres://u:p@127.0.0.1:${server.port}/d`, {
    pool: { min: 0, max: 1 },
    queryTimeoutMs: 2000,
  });
  try {
    const err = await failureOf(db('customer_secrets').where({ token: 'tok_visible' }).first());
    // What knex itself says: the statement in front of the driver's message.
    expect((err as Error).message).toMatch(/customer_secrets/);
    expect(isDatabaseOutage(err)).toBe(true);
    const described = JSON.stringify(describeError(err));
    expect(described).not.toMatch(/customer_secrets|select|token/i);
    expect(describeError(err).message).toMatch(/^database unavailable/);
    const failure = toActivityFailure(err);
    expect(failure.message).not.toMatch(/customer_secrets|select/i);
    expect(failure.nonRetryable).toBe(false);
  } finally {
    await db.destroy();
    await server.close();
  }
});

test('a connection lost under a transaction is an outage too, whatever its rollback then says', async () => {
  const server = await droppingServer();
  const db = createDb(`postgres://u:p@127.0.0.1:${server.port}/d`, {
    pool: { min: 0, max: 1 },
    queryTimeoutMs: 2000,
  });
  try {
    const err = await failureOf(
      db.transaction((trx) => trx('customer_secrets').where({ token: 'tok_visible' }).first()),
    );
    expect(isDatabaseOutage(err)).toBe(true);
    expect(describeError(err).message).toMatch(/^database unavailable/);
    expect(JSON.stringify(describeError(err))).not.toMatch(/customer_secrets|select|token/i);
  } finally {
    await db.destroy();
    await server.close();
  }
});

test('a database host that cannot be found or reached is an outage', () => {
  for (const code of ['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
    expect(isDatabaseOutage(Object.assign(new Error(`getaddrinfo ${code} postgres`), { code }))).toBe(true);
  expect(isDatabaseOutage(new Error('timeout expired'))).toBe(true);
  expect(isDatabaseOutage(new Error('the card was declined'))).toBe(false);
});

test('an error that met no statement keeps its own words', () => {
  expect(describeError(new Error('the card was declined')).message).toBe('the card was declined');
});

test("the sandboxes' logs do not repeat a statement either", async () => {
  const server = await droppingServer();
  const db = sandboxDb(`postgres://u:p@127.0.0.1:${server.port}/d`, 1);
  try {
    const err = await failureOf(db('payment_intents').where({ customer: 'cus_visible' }).first());
    expect((err as Error).message).toMatch(/payment_intents/);
    expect(sandboxDescribeError(err)).not.toMatch(/payment_intents|select|cus_visible/i);
  } finally {
    await db.destroy();
    await server.close();
  }
});

test("knex's warning of a failed migration does not quote its statement", async () => {
  const db = createDb('postgres://u:p@127.0.0.1:1/d', { pool: { min: 0, max: 1 } });
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    // What knex's migrator says when a migration's statement fails (knex quotes the error's message).
    (db.client as { logger: { warn(m: string): void } }).logger.warn(
      'migration failed with error: insert into "members" ("customer_id") values ($1) - duplicate key value',
    );
    (db.client as { logger: { warn(m: string): void } }).logger.warn(
      'migration file "027_members.ts" failed',
    );
    expect(warn.mock.calls.map(([m]) => m)).toEqual([
      'migration failed',
      'migration file "027_members.ts" failed',
    ]);
  } finally {
    warn.mockRestore();
    await db.destroy();
  }
});
