/**
 * The sandbox payment service, its own process with its own database, as a real provider is:
 *   PAYMENT_SANDBOX_PORT, PAYMENT_SANDBOX_HOST, PAYMENT_SANDBOX_DATABASE_URL (npm start and the tests set them),
 *   PAYMENT_SANDBOX_LATENCY and PAYMENT_SANDBOX_ERROR_RATE (a slow or faulty provider),
 *   PAYMENT_SANDBOX_SLOW (how long tok_slow takes).
 */
import knex from 'knex';
import { sandboxPaymentsApp } from './app';
import { ensureSchema, Ledger } from './ledger';

function milliseconds(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^(\d+)(ms|s)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

async function main() {
  const url = process.env.PAYMENT_SANDBOX_DATABASE_URL;
  if (!url) throw new Error('PAYMENT_SANDBOX_DATABASE_URL is not set (npm start sets it)');
  const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 10 } });
  await ensureSchema(db);
  const errorRate = Number(process.env.PAYMENT_SANDBOX_ERROR_RATE ?? 0);
  if (!(errorRate >= 0 && errorRate <= 1))
    throw new Error('PAYMENT_SANDBOX_ERROR_RATE is a number from 0 to 1');
  const app = sandboxPaymentsApp(new Ledger(db), {
    latencyMs: milliseconds(process.env.PAYMENT_SANDBOX_LATENCY, 0),
    errorRate,
    slowMs: milliseconds(process.env.PAYMENT_SANDBOX_SLOW, 6000),
  });
  const port = Number(process.env.PAYMENT_SANDBOX_PORT ?? 3100);
  // Loopback unless told (a container listens on every interface).
  const host = process.env.PAYMENT_SANDBOX_HOST ?? '127.0.0.1';
  const server = app.listen(port, host, () =>
    console.log(JSON.stringify({ msg: 'payment sandbox listening', port, pid: process.pid })),
  );
  const stop = () => server.close(() => void db.destroy().then(() => process.exit(0)));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
