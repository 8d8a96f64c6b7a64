/**
 * The dispatcher's claim (services/webhooks/subscriptions.ts `claimDue`) reads each subscriber's
 * own due deliveries, at most its share, so its cost does not grow with a backlog: a receiver
 * back after an outage with tens of thousands of events due, or one backing off. On a database of
 * its own, seeded with orders (devstack/seed-orders.ts) and one event each, the rows a claim reads
 * are counted from PostgreSQL's statistics.
 */
import { createDb, migrate } from '../../db/knex';
import { databaseBeside } from '../../devstack/postgres';
import { seedOrders } from '../../devstack/seed-orders';
import { claimDue } from '../../services/webhooks/subscriptions';
import { dropOwnDatabase } from '../support/backends';
import type { Knex } from 'knex';

const suffix = `claims_${process.pid}_${Date.now()}`;
const BACKLOG = 20_000;
let url: string;
let db: Knex;

beforeAll(async () => {
  url = await databaseBeside(process.env.DATABASE_URL!, suffix);
  // One session: its statistics are flushed and read back by the same connection.
  db = createDb(url, { pool: { min: 1, max: 1 }, queryTimeoutMs: 0 });
  await migrate(db);
  await seedOrders(db, { orders: BACKLOG, batch: BACKLOG, tag: suffix });
  await db.raw(
    `INSERT INTO order_events (id, order_id, seq, type, source, occurred_at, data)
     SELECT 'evt_' || md5(id), id, 1, 'order.created', 'seed', created_at, '{}' FROM orders`,
  );
  await db('webhooks').insert([
    // Back after an outage: every order's event due.
    { id: 'healthy', url: 'http://127.0.0.1:9/a', events: ['*'], secret: 's' },
    // A dead receiver backing off for an hour, with as many due.
    {
      id: 'dead',
      url: 'http://127.0.0.1:9/b',
      events: ['*'],
      secret: 's',
      consecutive_failures: 10,
      retry_after: db.raw(`now() + interval '1 hour'`),
    },
  ]);
  await db.raw(
    `INSERT INTO webhook_deliveries (webhook_id, event_id, order_id, seq, next_attempt_at)
     SELECT w.id, e.id, e.order_id, e.seq, e.occurred_at FROM order_events e, webhooks w`,
  );
  await db.raw('ANALYZE');
}, 180_000);

afterAll(async () => {
  await db?.destroy();
  if (url) await dropOwnDatabase(url);
});

/** Rows of webhook_deliveries read so far, by index and by sequential scans. */
async function rowsRead(): Promise<number> {
  await db.raw('SELECT pg_stat_force_next_flush()');
  const { rows } = await db.raw(
    `SELECT (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = 'webhook_deliveries')
          + (SELECT coalesce(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries') AS n`,
  );
  return Number(rows[0].n);
}

test('a claim reads a subscriber’s share of its due deliveries, not its backlog, and nothing of one backing off', async () => {
  const box = { seal: (s: string) => s, open: (s: string) => s };
  for (let pass = 0; pass < 3; pass++) {
    const before = await rowsRead();
    const claimed = await claimDue(db, { limit: 100, leaseMs: 60_000, busy: [], perSubscriber: 8, box });
    const read = (await rowsRead()) - before;
    // The healthy subscriber's share (8 in flight at most, its earlier claims' leases counted).
    expect(claimed.length).toBe(pass === 0 ? 8 : 0);
    expect(claimed.every((d) => d.webhookId === 'healthy')).toBe(true);
    expect(read).toBeLessThan(500);
  }
}, 60_000);
