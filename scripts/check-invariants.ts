/** `npm run check-invariants`: the invariant checker against DATABASE_URL, TEMPORAL_ADDRESS and the payment provider; non-zero on any violation. */
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../codec/data-converter';
import { loadConfigOrExit } from '../config';
import { temporalConnectionOptions } from '../config/temporal-connection';
import { createDb } from '../db/knex';
import { HttpPaymentProvider } from '../services/payment/http-provider';
import { checkInvariants } from '../audit/invariants';

async function main() {
  const config = loadConfigOrExit();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is not set');
  const db = createDb(config.DATABASE_URL, { pool: { min: 0, max: 3 }, queryTimeoutMs: 0 });
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const report = await checkInvariants(
      db,
      new Client({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        dataConverter: dataConverterFor(config),
      }),
      new HttpPaymentProvider(
        config.PAYMENT_PROVIDER_URL ?? `http://127.0.0.1:${config.PAYMENT_SANDBOX_PORT}`,
      ),
    );
    console.log(
      `orders ${report.orders}, products ${report.products}, coupons ${report.coupons}, violations ${report.violations.length}`,
    );
    for (const v of report.violations) console.log(`VIOLATION ${v.rule}: ${v.subject}: ${v.detail}`);
    process.exitCode = report.violations.length === 0 ? 0 : 1;
  } finally {
    await connection.close();
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
