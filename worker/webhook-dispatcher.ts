/**
 * Sends the order center's events to webhook subscribers: claims due deliveries from PostgreSQL
 * (services/webhooks/subscriptions.ts: one order's events in sequence, a lease so a dispatcher
 * that dies lets its claims go), POSTs each signed, and records the outcome: delivered, tried
 * again with exponential backoff, or failed once WEBHOOK_RETRY_FOR has passed. The deliveries are
 * rows written with their events, so nothing is lost while the worker is down; several workers
 * share the work. A slow subscriber holds at most its own share of the slots; a failing one is
 * backed off as a whole and probed one delivery at a time, so a dead endpoint costs little.
 */
import type { Knex } from 'knex';
import { signature } from '../codec/webhook-signature';
import type { Config } from '../config';
import { secretBox, secretKeysOf } from '../codec/secret-box';
import { eventFromRow } from '../services/events/outbox';
import { postWebhook } from '../services/webhooks/send';
import {
  claimDue,
  markAttemptFailed,
  markDelivered,
  promoteStranded,
  type ClaimedDelivery,
  type StrandedCursor,
} from '../services/webhooks/subscriptions';

/** How often, and how many pending deliveries a time, the sweep for stranded waiting ones reads. */
const SWEEP_EVERY_MS = 10_000;
const SWEEP_ROWS = 5_000;

export const SIGNATURE_HEADER = 'Webhook-Signature';

export function startWebhookDispatcher(
  db: Knex,
  config: Pick<
    Config,
    | 'WEBHOOK_ALLOW_PRIVATE'
    | 'WEBHOOK_TIMEOUT'
    | 'WEBHOOK_RETRY_FOR'
    | 'WEBHOOK_BACKOFF'
    | 'WEBHOOK_BACKOFF_MAX'
    | 'WEBHOOK_CONCURRENCY'
    | 'SECRETS_ENCRYPTION_KEYS'
    | 'PAYLOAD_ENCRYPTION_KEYS'
  >,
  log: (msg: string) => void,
) {
  // Subscriptions' secrets are stored sealed: opened here, for signing only.
  const box = secretBox(secretKeysOf(config));
  const perSubscriber = Math.max(1, Math.ceil(config.WEBHOOK_CONCURRENCY / 4));
  const inFlight = new Map<string, number>();
  /** Subscribers whose last attempt here failed: one probe in flight at a time. */
  const failing = new Set<string>();
  const running = new Set<Promise<void>>();
  let stopped = false;

  const send = async (d: ClaimedDelivery) => {
    const body = JSON.stringify(eventFromRow(d.event));
    // Tried again after as long as its window has lasted, or past it marked failed (decided on
    // the row: a redelivery asked for meanwhile opened a new window).
    const retry = () => ({
      baseMs: config.WEBHOOK_BACKOFF,
      maxMs: config.WEBHOOK_BACKOFF_MAX,
      forMs: config.WEBHOOK_RETRY_FOR,
      spread: 0.8 + 0.4 * Math.random(),
    });
    // A key this worker lacks is its own failing, not the subscriber's: no backoff for the
    // subscriber, whose deliveries workers that have the key go on sending at full speed.
    if (d.secret === null) {
      const error = 'the subscription’s secret is sealed with a key this worker does not have';
      return markAttemptFailed(db, d.webhookId, d.event.id, d.attempts, error, retry(), false);
    }
    const outcome = await postWebhook(
      d.url,
      body,
      { 'Webhook-Id': d.event.id, [SIGNATURE_HEADER]: signature(d.secret, body, Date.now()) },
      { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, timeoutMs: config.WEBHOOK_TIMEOUT },
    );
    if (outcome.ok) {
      failing.delete(d.webhookId);
      return markDelivered(db, d.webhookId, d.event.id, d.attempts);
    }
    failing.add(d.webhookId);
    await markAttemptFailed(db, d.webhookId, d.event.id, d.attempts, outcome.error, retry(), true);
  };

  const launch = (d: ClaimedDelivery) => {
    inFlight.set(d.webhookId, (inFlight.get(d.webhookId) ?? 0) + 1);
    const task = send(d)
      // The lease runs out and another pass sends it again: nothing is lost.
      .catch((err) => log(`webhook delivery not recorded: ${(err as Error).name}`))
      .finally(() => {
        inFlight.set(d.webhookId, inFlight.get(d.webhookId)! - 1);
        running.delete(task);
      });
    running.add(task);
  };

  const pass = async (): Promise<number> => {
    const free = config.WEBHOOK_CONCURRENCY - running.size;
    if (free <= 0) return 0;
    const busy = [...inFlight]
      .filter(([id, n]) => n >= perSubscriber || (n > 0 && failing.has(id)))
      .map(([id]) => id);
    const claimed = await claimDue(db, {
      limit: free,
      leaseMs: config.WEBHOOK_TIMEOUT + 30_000,
      busy,
      perSubscriber,
      box,
    });
    claimed.forEach(launch);
    return claimed.length;
  };

  // Waiting deliveries whose earlier one a worker from before them settled (a rolling deploy) are
  // made due by a sweep, a bounded part of the pending ones at a time, going round.
  let sweptAt = 0;
  let sweepFrom: StrandedCursor | null = null;
  const sweep = async () => {
    if (Date.now() - sweptAt < SWEEP_EVERY_MS) return;
    sweptAt = Date.now();
    sweepFrom = (await promoteStranded(db, sweepFrom, SWEEP_ROWS)).next;
  };

  const loop = (async () => {
    while (!stopped) {
      let claimed = 0;
      try {
        await sweep();
        claimed = await pass();
      } catch (err) {
        log(`webhook dispatch pass failed: ${(err as Error).name}`);
      }
      await new Promise((r) => setTimeout(r, claimed > 0 ? 20 : 250));
    }
  })();

  return {
    /** Stops claiming and waits for what is in flight. */
    async stop() {
      stopped = true;
      await loop;
      await Promise.allSettled([...running]);
    },
  };
}
