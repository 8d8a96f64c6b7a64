/**
 * The sandbox warehouse service, its own process with its own database, as a logistics provider is:
 *   WAREHOUSE_SANDBOX_PORT, WAREHOUSE_SANDBOX_HOST, WAREHOUSE_SANDBOX_DATABASE_URL (npm start and
 *   the tests set them), WAREHOUSE_SANDBOX_STEP (how long each step of a fulfilment takes: accept,
 *   pick, pack, ship, in transit, delivered), WAREHOUSE_SANDBOX_WEBHOOK_URL and
 *   WAREHOUSE_WEBHOOK_SECRET (where its events go, signed with what).
 */
import { signature, SIGNATURE_HEADER } from '../../codec/webhook-signature';
import { describeError, sandboxDb } from '../payments/ledger';
import { sandboxWarehouseApp } from './app';
import { Books, ensureSchema } from './books';

function milliseconds(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
}

async function main() {
  const url = process.env.WAREHOUSE_SANDBOX_DATABASE_URL;
  if (!url) throw new Error('WAREHOUSE_SANDBOX_DATABASE_URL is not set (npm start sets it)');
  const db = sandboxDb(url, 5);
  await ensureSchema(db);
  const books = new Books(db, milliseconds(process.env.WAREHOUSE_SANDBOX_STEP, 2000));
  const webhookUrl = process.env.WAREHOUSE_SANDBOX_WEBHOOK_URL || undefined;
  const secret = process.env.WAREHOUSE_WEBHOOK_SECRET ?? '';

  // Steps come due and events go out, one pass at a time, until stopped.
  let stopped = false;
  const pass = async () => {
    await books.advanceDue();
    if (!webhookUrl) return;
    for (const event of await books.eventsDue()) {
      const body = JSON.stringify(event.payload);
      let ok = false;
      try {
        const res = await fetch(webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [SIGNATURE_HEADER]: signature(secret, body, Date.now()),
          },
          body,
          signal: AbortSignal.timeout(5000),
        });
        ok = res.ok;
      } catch {
        // no answer: tried again later
      }
      if (ok) await books.delivered(event.id);
      else await books.deferred(event.id);
    }
  };
  void (async () => {
    while (!stopped) {
      await pass().catch((err) => console.error(`background pass failed: ${describeError(err)}`));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const port = Number(process.env.WAREHOUSE_SANDBOX_PORT ?? 3200);
  const host = process.env.WAREHOUSE_SANDBOX_HOST ?? '127.0.0.1';
  const server = sandboxWarehouseApp(books).listen(port, host, () =>
    console.log(JSON.stringify({ msg: 'warehouse sandbox listening', port, pid: process.pid })),
  );
  const stop = () => {
    stopped = true;
    server.close(() => void db.destroy().then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`the warehouse sandbox could not start: ${describeError(err)}`);
  process.exit(1);
});
