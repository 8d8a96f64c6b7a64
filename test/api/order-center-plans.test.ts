/**
 * Issue 23, item 4: the order center's queries use its indexes. On a database of its own, seeded
 * with realistic orders (devstack/seed-orders.ts, as `npm run seed` writes them) and analysed,
 * PostgreSQL's plan for each indexed filter and sort of the order list, the reverse lists' and a
 * week's stats reads no table of orders from end to end (no sequential scan of `orders`).
 */
import pg from 'pg';
import { createDb, migrate } from '../../db/knex';
import { databaseBeside } from '../../devstack/postgres';
import { seedOrders } from '../../devstack/seed-orders';
import { listOrders, type ListQuery } from '../../services/orders/list-orders';
import { orderStats } from '../../services/orders/order-stats';
import type { Knex } from 'knex';

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
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const name = new URL(url).pathname.slice(1);
  if (/^\w+$/.test(name)) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
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
