/**
 * The sandbox payment service, its own process with its own database, as a real provider is:
 *   PAYMENT_SANDBOX_PORT, PAYMENT_SANDBOX_HOST, PAYMENT_SANDBOX_DATABASE_URL (npm start and the tests set them),
 *   PAYMENT_SANDBOX_LATENCY and PAYMENT_SANDBOX_ERROR_RATE (a slow or faulty provider),
 *   PAYMENT_SANDBOX_SLOW (how long tok_slow, and tok_reauth_slow's renewals, take), PAYMENT_SANDBOX_UNLISTED (how long
 *   tok_lost_unlisted's charge stays out of its order's list), PAYMENT_SANDBOX_ASYNC_DELAY (how long an
 *   asynchronous method takes to settle), PAYMENT_SANDBOX_WEBHOOK_URL and PAYMENT_WEBHOOK_SECRET
 *   (where its events go, signed with what), PAYMENT_SANDBOX_WEBHOOKS=off (they never go),
 *   PAYMENT_SANDBOX_WEBHOOK_DUPLICATES=1 (each goes twice), PAYMENT_SANDBOX_WEBHOOK_DELAY (late),
 *   PAYMENT_SANDBOX_INSTANCE (one of several processes sharing the books: it settles only its own),
 *   PAYMENT_SANDBOX_AUTH_TTL (how long an authorisation holds; 7 days),
 *   PAYMENT_SANDBOX_SHORT_AUTH (tok_short_auth's, tok_reauth_declined's and tok_reauth_slow's; 15 s) and
 *   PAYMENT_SANDBOX_KEY_TTL (how long a create's idempotency key is remembered; 24 h, as Stripe's).
 */
import { sandboxPaymentsApp } from './app';
import { describeError, ensureSchema, Ledger, sandboxDb } from './ledger';
import { startBackground } from './webhooks';
import { intentView } from './app';

function milliseconds(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms']!;
  return Number(m[1]) * unit;
}

/** A key remembered at least a second (0 would turn idempotency off) and at most 30 days. */
function keyTtl(ms: number): number {
  if (ms < 1000 || ms > 30 * 86_400_000) throw new Error('PAYMENT_SANDBOX_KEY_TTL is from 1s to 30d');
  return ms;
}

async function main() {
  const url = process.env.PAYMENT_SANDBOX_DATABASE_URL;
  if (!url) throw new Error('PAYMENT_SANDBOX_DATABASE_URL is not set (npm start sets it)');
  const db = sandboxDb(url, 10);
  await ensureSchema(db);
  const errorRate = Number(process.env.PAYMENT_SANDBOX_ERROR_RATE ?? 0);
  if (!(errorRate >= 0 && errorRate <= 1))
    throw new Error('PAYMENT_SANDBOX_ERROR_RATE is a number from 0 to 1');
  const port = Number(process.env.PAYMENT_SANDBOX_PORT ?? 3100);
  const publicUrl = process.env.PAYMENT_SANDBOX_PUBLIC_URL ?? `http://127.0.0.1:${port}`;
  const deliverAfterMs = milliseconds(process.env.PAYMENT_SANDBOX_WEBHOOK_DELAY, 0);
  const ledger = new Ledger(db, process.env.PAYMENT_SANDBOX_INSTANCE || 'main');
  const app = sandboxPaymentsApp(ledger, {
    latencyMs: milliseconds(process.env.PAYMENT_SANDBOX_LATENCY, 0),
    errorRate,
    slowMs: milliseconds(process.env.PAYMENT_SANDBOX_SLOW, 6000),
    unlistedMs: milliseconds(process.env.PAYMENT_SANDBOX_UNLISTED, 60_000),
    publicUrl,
    deliverAfterMs,
    authTtlMs: milliseconds(process.env.PAYMENT_SANDBOX_AUTH_TTL, 7 * 86_400_000),
    shortAuthMs: milliseconds(process.env.PAYMENT_SANDBOX_SHORT_AUTH, 15_000),
    keyTtlMs: keyTtl(milliseconds(process.env.PAYMENT_SANDBOX_KEY_TTL, 86_400_000)),
  });
  const background = startBackground(
    ledger,
    {
      url: process.env.PAYMENT_SANDBOX_WEBHOOK_URL || undefined,
      secret: process.env.PAYMENT_WEBHOOK_SECRET ?? '',
      enabled: process.env.PAYMENT_SANDBOX_WEBHOOKS !== 'off',
      duplicates: process.env.PAYMENT_SANDBOX_WEBHOOK_DUPLICATES === '1',
      asyncMs: milliseconds(process.env.PAYMENT_SANDBOX_ASYNC_DELAY, 2000),
      deliverAfterMs,
      view: (row) => intentView(row, 0, publicUrl),
    },
    (line) => console.error(line),
  );
  // Loopback unless told (a container listens on every interface).
  const host = process.env.PAYMENT_SANDBOX_HOST ?? '127.0.0.1';
  const server = app.listen(port, host, () =>
    console.log(JSON.stringify({ msg: 'payment sandbox listening', port, pid: process.pid })),
  );
  const stop = () => {
    background.stop();
    server.close(() => void db.destroy().then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`the payment sandbox could not start: ${describeError(err)}`);
  process.exit(1);
});
