/**
 * Issue 23, item 4: the order center's queries use its indexes. On a database of its own, seeded
 * with realistic orders (devstack/seed-orders.ts, as `npm run seed` writes them) and analysed,
 * PostgreSQL's plan for each indexed filter and sort of the order list, the reverse lists' and a
 * week's stats reads no table of orders from end to end (no sequential scan of `orders`). And
 * the stats' daily rollup (migrations/023_order_stats_rollup.ts) says what the orders say.
 */
import pg from 'pg';
import { createDb, migrate } from '../../db/knex';
import { databaseBeside } from '../../devstack/postgres';
import { seedOrders } from '../../devstack/seed-orders';
import { listOrders, type ListQuery } from '../../services/orders/list-orders';
import { foldOrderStats, orderStats, type StatsGroup } from '../../services/orders/order-stats';
import type { Knex } from 'knex';
import { dropOwnDatabase } from '../support/backends';

const suffix = `plans_${process.pid}_${Date.now()}`;
let url: string;
let db: Knex;
let explainer: pg.Client;

beforeAll(async () => {
  url = await databaseBeside(process.env.DATABASE_URL!, suffix);
  db = createDb(url, { pool: { min: 0, max: 2 }, queryTimeoutMs: 0 });
  await migrate(db);
  await seedOrders(db, { orders: 40_000, batch: 20_000, tag: suffix });
  explainer = new pg.Client({ connectionString: url });
  await explainer.connect();
}, 180_000);

afterAll(async () => {
  await explainer?.end();
  await db?.destroy();
  if (url) await dropOwnDatabase(url);
});

/** The statements `work` sends, with their bindings. */
async function statementsOf(work: () => Promise<unknown>): Promise<{ sql: string; bindings: unknown[] }[]> {
  const seen: { sql: string; bindings: unknown[] }[] = [];
  const record = (q: { sql: string; bindings?: unknown[] }) =>
    seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
  db.on('query', record);
  try {
    await work();
  } finally {
    db.off('query', record);
  }
  return seen;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

/** The relations `work`'s statements scan from end to end. */
async function sequentialScans(work: () => Promise<unknown>): Promise<string[]> {
  const scans: string[] = [];
  const statements = await statementsOf(work);
  if (statements.length === 0) throw new Error('the work sent no statement');
  for (const { sql, bindings } of statements) {
    // Asked with the statement's own parameters, as the service sends it.
    const positional = /\$1\b/.test(sql);
    const { rows } = positional
      ? await explainer.query(`EXPLAIN (FORMAT JSON) ${sql}`, bindings)
      : await explainer.query(
          `EXPLAIN (FORMAT JSON) ${db.raw(sql, bindings as Knex.RawBinding[]).toString()}`,
        );
    const plan = rows[0]['QUERY PLAN'][0].Plan as PlanNode;
    for (const n of nodes(plan)) if (n['Node Type'] === 'Seq Scan') scans.push(n['Relation Name']!);
  }
  return scans;
}

test('every indexed filter and sort of the order list reads orders through an index', async () => {
  const any = await db('orders').first('id', 'customer_id', 'channel');
  const tracked = await db('orders').whereRaw(`details->'shipment' IS NOT NULL`).first('details');
  const aWeekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const queries: Record<string, ListQuery> = {
    'newest first': { limit: 50 },
    'oldest first': { limit: 50, sort: 'createdAt' },
    'by total, in a currency': { limit: 50, sort: '-total', currency: 'USD' },
    customer: { limit: 50, customerId: any.customer_id },
    'channel and customer': { limit: 50, channel: any.channel, customerId: any.customer_id },
    status: { limit: 50, status: 'SHIPPED' },
    channel: { limit: 50, channel: 'partner-mall' },
    'payment status': { limit: 50, paymentStatus: 'refunded' },
    'a week': { limit: 50, createdFrom: aWeekAgo },
    sku: { limit: 50, sku: 'seed-sku-17' },
    'order id beginning': { limit: 50, q: any.id.slice(0, 9) },
    'tracking number': { limit: 50, q: tracked.details.shipment.trackingNumber },
  };
  const found: Record<string, string[]> = {};
  for (const [name, query] of Object.entries(queries))
    found[name] = (await sequentialScans(() => listOrders(db, query))).filter((r) => r === 'orders');
  expect(found).toEqual(Object.fromEntries(Object.keys(queries).map((k) => [k, []])));
}, 120_000);

test('the check sees a sequential scan when there is one', async () => {
  expect(await sequentialScans(() => db('orders').where('shipping', 800).limit(5))).toContain('orders');
});

test('a week of stats reads orders through an index', async () => {
  const createdFrom = new Date(Date.now() - 7 * 86_400_000).toISOString();
  for (const groupBy of ['status', 'channel', 'day'] as const)
    expect(await sequentialScans(() => orderStats(db, { groupBy, createdFrom }))).not.toContain('orders');
}, 60_000);

/** What the orders themselves say, counted the slow way. */
async function counted(groupBy: StatsGroup, from?: string, to?: string) {
  const key = {
    status: 'status',
    type: 'type',
    channel: 'channel',
    paymentStatus: 'payment_status',
    day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  }[groupBy];
  const q = db('orders')
    .select(
      db.raw(`${key} AS key`),
      db.raw('trim(currency) AS currency'),
      db.raw('count(*)::int AS count'),
      db.raw('sum(total)::bigint AS total'),
      db.raw('sum(paid)::bigint AS paid'),
      db.raw('sum(refunded)::bigint AS refunded'),
    )
    .groupBy('key', 'currency')
    .orderBy(['key', 'currency']);
  if (from) q.where('created_at', '>=', from);
  if (to) q.where('created_at', '<', to);
  return (await q).map((r: Record<string, unknown>) => ({
    ...r,
    total: Number(r.total),
    paid: Number(r.paid),
    refunded: Number(r.refunded),
  }));
}

test('stats from the daily rollup equal the orders counted one by one, folded or not, for any window', async () => {
  const hour = 3_600_000;
  const at = (ms: number) => new Date(ms).toISOString();
  const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const windows: [string?, string?][] = [
    [],
    [at(midnight - 9 * 86_400_000 + 13.3 * hour)],
    [undefined, at(midnight - 200 * 86_400_000 + 5.5 * hour)],
    [at(midnight - 40 * 86_400_000 + 0.5 * hour), at(midnight - 10 * 86_400_000 + 23 * hour)],
    [at(midnight - 3 * 86_400_000 + 2 * hour), at(midnight - 3 * 86_400_000 + 20 * hour)], // within a day
    [at(midnight - 30 * 86_400_000), at(midnight - 2 * 86_400_000)], // whole days only
    [at(midnight - 5 * 86_400_000), at(midnight - 5 * 86_400_000)], // empty
  ];
  const check = async () => {
    for (const groupBy of ['status', 'type', 'channel', 'paymentStatus', 'day'] as const)
      for (const [from, to] of windows)
        expect({
          groupBy,
          from,
          to,
          stats: await orderStats(db, { groupBy, createdFrom: from, createdTo: to }),
        }).toEqual({ groupBy, from, to, stats: await counted(groupBy, from, to) });
  };
  // The seed's changes, not folded yet.
  const rows = async (table: string, where = {}) =>
    Number((await db(table).where(where).count('* as n').first())!.n);
  expect(await rows('order_stats_changes')).toBeGreaterThan(0);
  await check();
  expect(await foldOrderStats(db)).toBeGreaterThan(0);
  expect(await rows('order_stats_changes')).toBe(0);
  await check();
  // Orders move (a status, money refunded, a row gone), as the service moves them.
  await db.raw(`UPDATE orders SET status = 'CANCELLED', refunded = paid
                 WHERE id IN (SELECT id FROM orders WHERE status = 'SHIPPED' ORDER BY id LIMIT 300)`);
  await db.raw(
    `UPDATE orders SET updated_at = now() WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT 50)`,
  );
  await db.raw(
    `DELETE FROM orders WHERE id IN (SELECT id FROM orders WHERE status = 'COMPLETED' ORDER BY id LIMIT 20)`,
  );
  await check();
  await foldOrderStats(db);
  await check();
  // A key no order holds any longer leaves the rollup.
  expect(await rows('order_stats_daily', { count: 0 })).toBe(0);
}, 120_000);
