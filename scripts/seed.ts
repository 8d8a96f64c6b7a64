/**
 * `npm run seed -- --orders 1000000`: fills the order center's tables with realistic orders
 * (devstack/seed-orders.ts), written straight to PostgreSQL: they have no workflows, so they are
 * for lists, stats, exports and the console, not for acting on. DATABASE_URL's server, or the
 * embedded PostgreSQL `npm start` keeps under DATA_DIR (started for the run, if it is not running).
 */
import { loadConfigOrExit } from '../config';
import { describeError } from '../db/errors';
import { createDb, migrate } from '../db/knex';
import { startEmbeddedPostgres, type RunningPostgres } from '../devstack/postgres';
import { SEEDED_REQUEST_ID, seedOrders } from '../devstack/seed-orders';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} takes a positive whole number`);
  return value;
}

async function main() {
  const config = loadConfigOrExit();
  const orders = arg('orders', 100_000);
  let postgres: RunningPostgres | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    postgres = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT });
    url = postgres.url;
  }
  const db = createDb(url, { pool: { min: 0, max: 1 }, queryTimeoutMs: 0 });
  const started = Date.now();
  try {
    await migrate(db);
    console.log(
      `seeding ${orders} orders straight to PostgreSQL (no workflows: for queries, not for acting on; request_id '${SEEDED_REQUEST_ID}')`,
    );
    await seedOrders(db, {
      orders,
      onBatch: (done) => process.stdout.write(`\r  ${done} / ${orders}`),
    });
    console.log(`\nseeded ${orders} orders in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await db.destroy();
    await postgres?.stop();
  }
}

main().catch((err) => {
  // Never the error's message: a driver's can quote the statement (db/errors.ts).
  console.error('seed failed:', describeError(err));
  process.exit(1);
});
