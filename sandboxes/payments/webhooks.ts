/**
 * The sandbox's background work, as a provider's: asynchronous methods settle after a while, and
 * every settlement's event is posted, signed, to the merchant's webhook endpoint until it answers
 * 2xx (backing off), at least once: possibly twice (a switch), possibly late (another).
 */
import { signature, SIGNATURE_HEADER } from '../../codec/webhook-signature';
import { describeError, type IntentRow, type Ledger } from './ledger';

export interface WebhookSettings {
  /** Where events go; unset: nowhere (they wait). */
  url?: string;
  secret: string;
  /** Off: events are recorded and never sent (a merchant whose endpoint never hears). */
  enabled: boolean;
  /** Every event sent twice. */
  duplicates: boolean;
}

const EVENT_TYPES: Partial<Record<IntentRow['status'], string>> = {
  succeeded: 'payment_intent.succeeded',
  requires_capture: 'payment_intent.amount_capturable_updated',
  canceled: 'payment_intent.canceled',
};

/** What a settlement announces: Stripe's event types for a PaymentIntent. */
export function eventOf(view: (row: IntentRow) => unknown) {
  return (row: IntentRow) => {
    const type = EVENT_TYPES[row.status] ?? 'payment_intent.payment_failed';
    return { type, payload: { created: Math.floor(Date.now() / 1000), data: { object: view(row) } } };
  };
}

export const ASYNC_OUTCOMES: Record<
  string,
  { status: 'succeeded' } | { status: 'requires_payment_method'; code: string }
> = {
  tok_async_ok: { status: 'succeeded' },
  tok_3ds_async: { status: 'succeeded' },
  tok_async_fail: { status: 'requires_payment_method', code: 'bank_declined' },
};

/** Runs until `stop()`: settles what is due, sends what waits. One pass at a time. */
export function startBackground(
  ledger: Ledger,
  settings: WebhookSettings & { asyncMs: number; deliverAfterMs: number; view: (row: IntentRow) => unknown },
  log: (line: string) => void,
) {
  let stopped = false;
  const pass = async () => {
    for (const row of await ledger.dueAsync(Object.keys(ASYNC_OUTCOMES), settings.asyncMs))
      await ledger.settle(
        row.id,
        ASYNC_OUTCOMES[row.token]!,
        eventOf(settings.view),
        settings.deliverAfterMs,
      );
    // An authorisation not captured in time is let go, as a card network does.
    for (const row of await ledger.expiredAuthorizations())
      await ledger.settle(row.id, { status: 'canceled' }, eventOf(settings.view), settings.deliverAfterMs, [
        'requires_capture',
      ]);
    if (!settings.url || !settings.enabled) return;
    for (const event of await ledger.eventsDue()) {
      const body = JSON.stringify(event.payload);
      let ok = false;
      for (let copy = 0; copy < (settings.duplicates ? 2 : 1); copy++) {
        try {
          const res = await fetch(settings.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              [SIGNATURE_HEADER]: signature(settings.secret, body, Date.now()),
            },
            body,
            signal: AbortSignal.timeout(5000),
          });
          ok = ok || res.ok;
        } catch {
          // no answer: tried again later
        }
      }
      if (ok) await ledger.delivered(event.id);
      else await ledger.deferred(event);
    }
  };
  const loop = async () => {
    while (!stopped) {
      await pass().catch((err) => log(`background pass failed: ${describeError(err)}`));
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  void loop();
  return { stop: () => void (stopped = true) };
}
