/**
 * The sandbox payment service's HTTP API, shaped like Stripe's PaymentIntents: create (and
 * confirm) with an Idempotency-Key, retrieve, list by order; refunds likewise. Its tokens make it
 * behave as real providers do on a bad day:
 *   tok_ok pays · tok_risky pays, its risk scored `elevated` (the order waits for review) ·
 *   tok_declined, tok_insufficient_funds are declined · tok_flaky answers 503 twice
 *   per key, then pays · tok_lost pays, but every reply to the create is lost (the connection
 *   drops) · tok_lost_unlisted pays, its replies lost as tok_lost's, and the order's list leaves
 *   it out for `unlistedMs` (Stripe's search by metadata lags behind its writes) ·
 *   tok_slow pays after `slowMs`, answering only then (a client gives up first) ·
 *   tok_async_ok, tok_async_fail answer `processing` and settle later (a bank transfer): by
 *   webhook, or as a retrieve shows · tok_3ds answers `requires_action` with the page the
 *   customer's browser opens (`next_action.redirect_to_url.url`); a POST there completes it
 *   (`{ "outcome": "fail" }` fails it) · tok_3ds_async is a redirect method (a bank's page):
 *   `requires_action` as tok_3ds's, then `processing` once the customer is back, settled as
 *   tok_async_ok's that long after · any other token is declined (invalid_token).
 * With `capture_method: "manual"` a card is authorised (`requires_capture`, until `capture_before`)
 * and captured later by `POST /v1/payment_intents/:id/capture`, all or less; a cancel voids it.
 * Bank transfers cannot be held: they are captured as they settle. Tokens for the authorisation's
 * bad days: tok_short_auth's authorisation lasts `shortAuthMs` · tok_reauth_declined authorises
 * once (for `shortAuthMs`) and declines every later authorisation for the same order ·
 * tok_capture_fails authorises, and every capture of it is declined · tok_reauth_capture_fails
 * does both of tok_reauth_declined's and tok_capture_fails's · tok_reauth_slow authorises once
 * (for `shortAuthMs`) and answers every later authorisation for the same order as tok_slow does
 * (`processing` meanwhile: it cannot be cancelled) · tok_capture_unanswered authorises,
 * and every capture of it is answered 503 (nothing taken) until `PUT /v1/sandbox/captures/:orderId`
 * `{ "answer": true }` switches its order's captures to answered (`false` back; a switch of this
 * process only); past its hold's end it is refused as expired, as any.
 * Refunds are listed by order (a search, as Stripe's by metadata) or by payment (`payment_intent`:
 * a plain list, never behind). `PUT /v1/sandbox/refund-search/:orderId` `{ "behindMs": n }` makes
 * the order's search leave out its refunds younger than n ms while its payments already show them
 * refunded (0 back; a switch of this process only); `PUT /v1/sandbox/payment-search/:orderId`
 * likewise leaves its intents younger than n ms out of the order's list of intents (a search, as
 * Stripe's), while `GET /v1/payment_intents/:id` reads them.
 * A create's idempotency key is remembered for `keyTtlMs` (Stripe's: 24 hours): asked again later,
 * the same key makes a new intent, as a provider that has forgotten it does.
 * Every settlement is an event, posted signed to the merchant's webhook endpoint (./webhooks.ts).
 * `latencyMs` and `errorRate` (a 503 before anything is written) make the whole service slow or
 * faulty, for crash tests and chaos runs.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  describeError,
  InvalidRequest,
  type IntentRow,
  type Ledger,
  type Outcome,
  type RefundRow,
} from './ledger';
import { ASYNC_OUTCOMES, eventOf } from './webhooks';

export interface SandboxSettings {
  latencyMs: number;
  errorRate: number;
  slowMs: number;
  /** How long tok_lost_unlisted's charge stays out of its order's list (a search index's lag). */
  unlistedMs: number;
  /** This service's own address, for the 3-D Secure page a customer's browser opens. */
  publicUrl: string;
  /** Events of settlements wait this long before their first delivery (a late webhook). */
  deliverAfterMs: number;
  /** How long an authorisation holds (a card's: about 7 days). */
  authTtlMs: number;
  /** How long tok_short_auth's, tok_reauth_declined's and tok_reauth_slow's authorisations hold. */
  shortAuthMs: number;
  /** How long an idempotency key of a create is remembered (Stripe's: 24 hours); unset, for ever. */
  keyTtlMs?: number;
}

const DECLINES: Record<string, string> = {
  tok_declined: 'card_declined',
  tok_insufficient_funds: 'insufficient_funds',
};
const SHORT_AUTH = new Set([
  'tok_short_auth',
  'tok_reauth_declined',
  'tok_reauth_capture_fails',
  'tok_reauth_slow',
]);
const REAUTH_DECLINED = new Set(['tok_reauth_declined', 'tok_reauth_capture_fails']);
const CAPTURE_FAILS = new Set(['tok_capture_fails', 'tok_reauth_capture_fails']);
const PAYS = new Set([
  'tok_ok',
  'tok_risky',
  'tok_flaky',
  'tok_lost',
  'tok_lost_unlisted',
  'tok_slow',
  'tok_capture_fails',
  'tok_capture_unanswered',
  ...SHORT_AUTH,
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function intentView(row: IntentRow, refunded = 0, publicUrl = '') {
  return {
    id: row.id,
    object: 'payment_intent',
    amount: Number(row.amount),
    amount_capturable: row.status === 'requires_capture' ? Number(row.amount) : 0,
    amount_received: row.status === 'succeeded' ? Number(row.amount_captured ?? row.amount) : 0,
    amount_refunded: refunded,
    capture_method: row.capture_method,
    // Stripe shows it on the charge (payment_method_details.card.capture_before); here, on the intent.
    capture_before:
      row.status === 'requires_capture' && row.capture_before
        ? Math.floor(new Date(row.capture_before).getTime() / 1000)
        : null,
    currency: row.currency.trim(),
    status: row.status,
    payment_method: row.token,
    // What kind of method the token stands for, as a provider reports it.
    payment_method_type: row.token in ASYNC_OUTCOMES ? 'bank_transfer' : 'card',
    // The risk switch: Stripe scores each charge (`outcome.risk_level`); tok_risky pays, scored elevated.
    risk_level: row.token === 'tok_risky' ? 'elevated' : 'normal',
    last_payment_error: row.decline_code ? { code: row.decline_code } : null,
    next_action:
      row.status === 'requires_action'
        ? { type: 'redirect_to_url', redirect_to_url: { url: `${publicUrl}/3ds/${row.id}` } }
        : null,
    metadata: row.metadata,
    created: Math.floor(new Date(row.created_at).getTime() / 1000),
  };
}

const refundView = (row: RefundRow) => ({
  id: row.id,
  object: 'refund',
  amount: Number(row.amount),
  payment_intent: row.intent_id,
  status: 'succeeded',
  reason: row.reason,
  metadata: row.metadata,
  created: Math.floor(new Date(row.created_at).getTime() / 1000),
});

function error(res: Response, status: number, type: string, message: string) {
  res.status(status).json({ error: { type, message } });
}

const metadataOf = (body: Record<string, unknown>): Record<string, string> => {
  const given = (body.metadata ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(given).map(([k, v]) => [k, String(v)]));
};

/** A query's id (an order's, a payment's): one string of letters, digits, `_` and `-`; anything else is none. */
const idOf = (value: unknown): string | undefined =>
  typeof value === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(value) ? value : undefined;

const handle =
  (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

export function sandboxPaymentsApp(ledger: Ledger, settings: SandboxSettings, random = Math.random) {
  const app = express();
  app.use(express.json({ limit: '16kb' }));
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));

  // A slow or faulty provider, before anything is read or written.
  app.use('/v1', async (_req, res, next) => {
    if (settings.latencyMs > 0) await sleep(settings.latencyMs);
    if (settings.errorRate > 0 && random() < settings.errorRate)
      return error(res, 503, 'api_error', 'the sandbox is having a bad moment');
    next();
  });

  const view = (row: IntentRow, refunded = 0) => intentView(row, refunded, settings.publicUrl);
  const announce = eventOf(view);

  /** A paying card's outcome: captured, or (manual capture) authorised until its hold runs out. */
  const paid = (intent: IntentRow): Outcome =>
    intent.capture_method === 'manual'
      ? {
          status: 'requires_capture',
          captureBefore: new Date(
            Date.now() + (SHORT_AUTH.has(intent.token) ? settings.shortAuthMs : settings.authTtlMs),
          ),
        }
      : { status: 'succeeded' };

  /** Whether the same order authorised with this token before (tok_reauth_declined declines every later one). */
  const earlierOf = async (intent: IntentRow) =>
    (await ledger.intentsOf(intent.order_id)).some((i) => i.id !== intent.id && i.token === intent.token);

  /** Orders whose tok_capture_unanswered captures are answered now: the provider's bad day is over. */
  const answeredCaptures = new Set<string>();

  /** Orders whose refund search leaves out refunds younger than this many ms (`PUT /v1/sandbox/refund-search/:orderId`). */
  const searchBehind = new Map<string, number>();
  /** Orders whose payment search leaves out intents younger than this many ms (`PUT /v1/sandbox/payment-search/:orderId`). */
  const paymentSearchBehind = new Map<string, number>();

  /** In-flight creates, by key: a second request with the same key while the first runs is a 409, as at Stripe. */
  const inFlight = new Set<string>();

  app.post(
    '/v1/payment_intents',
    handle(async (req, res) => {
      const key = req.header('idempotency-key');
      const body = req.body as Record<string, unknown>;
      const metadata = metadataOf(body);
      const amount = body.amount;
      if (!key) return error(res, 400, 'invalid_request_error', 'an Idempotency-Key is required');
      if (!Number.isSafeInteger(amount) || (amount as number) <= 0)
        return error(res, 400, 'invalid_request_error', 'amount must be a positive integer');
      if (typeof body.currency !== 'string' || !/^[A-Z]{3}$/.test(body.currency))
        return error(res, 400, 'invalid_request_error', 'currency must be an ISO 4217 code');
      if (typeof body.payment_method !== 'string' || !metadata.order_id)
        return error(res, 400, 'invalid_request_error', 'payment_method and metadata.order_id are required');
      const captureMethod = body.capture_method ?? 'automatic';
      if (captureMethod !== 'automatic' && captureMethod !== 'manual')
        return error(res, 400, 'invalid_request_error', 'capture_method is automatic or manual');
      if (inFlight.has(key))
        return error(res, 409, 'idempotency_error', 'a request with this key is in progress');
      inFlight.add(key);
      try {
        const token = body.payment_method;
        let intent = await ledger.open({
          key,
          orderId: metadata.order_id,
          metadata,
          amount: amount as number,
          currency: body.currency,
          token,
          captureMethod,
          ...(settings.keyTtlMs !== undefined ? { keyTtlMs: settings.keyTtlMs } : {}),
        });
        // A redirect method: the customer's step first (a retried create leaves it as it stands).
        if (token === 'tok_3ds_async' && intent.attempts === 1)
          intent = await ledger.requireAction(intent.id);
        if (intent.status === 'processing' && !(token in ASYNC_OUTCOMES)) {
          if (token === 'tok_flaky' && intent.attempts <= 2)
            return error(res, 503, 'api_error', 'tok_flaky: a transient failure');
          if (token === 'tok_3ds') intent = await ledger.requireAction(intent.id);
          else {
            if (token === 'tok_slow' || (token === 'tok_reauth_slow' && (await earlierOf(intent))))
              await sleep(settings.slowMs);
            const reauthorised = REAUTH_DECLINED.has(token) && (await earlierOf(intent));
            intent = (await ledger.settle(
              intent.id,
              PAYS.has(token) && !reauthorised
                ? paid(intent)
                : {
                    status: 'requires_payment_method',
                    code: reauthorised ? 'card_declined' : (DECLINES[token] ?? 'invalid_token'),
                  },
              announce,
              settings.deliverAfterMs,
            ))!;
          }
        }
        // The capture happened; the answer never reaches the client.
        if (token === 'tok_lost' || token === 'tok_lost_unlisted') return void req.socket.destroy();
        res.json(view(intent));
      } finally {
        inFlight.delete(key);
      }
    }),
  );

  /** Intents and refunds of an order, oldest first (Stripe: a search by metadata). */
  app.get(
    '/v1/payment_intents',
    handle(async (req, res) => {
      const order = String(req.query.order ?? '');
      if (!order) return error(res, 400, 'invalid_request_error', 'order is required');
      const indexedBefore = Date.now() - settings.unlistedMs;
      const behind = paymentSearchBehind.get(order) ?? 0;
      const intents = (await ledger.intentsOf(order)).filter(
        (i) =>
          (i.token !== 'tok_lost_unlisted' || new Date(i.created_at).getTime() <= indexedBefore) &&
          Date.now() - new Date(i.created_at).getTime() >= behind,
      );
      const refunded = await ledger.refunded(intents.map((i) => i.id));
      res.json({ object: 'list', data: intents.map((i) => view(i, refunded.get(i.id) ?? 0)) });
    }),
  );

  app.get(
    '/v1/payment_intents/:id',
    handle(async (req, res) => {
      const intent = await ledger.intent(String(req.params.id));
      if (!intent) return error(res, 404, 'invalid_request_error', 'no such payment intent');
      const refunded = await ledger.refunded([intent.id]);
      res.json(view(intent, refunded.get(intent.id) ?? 0));
    }),
  );

  /**
   * Captures an authorisation (`amount_to_capture`: less than authorised releases the rest).
   * tok_capture_fails (and tok_reauth_capture_fails) is declined here every time (402), and an
   * expired authorisation is refused.
   */
  app.post(
    '/v1/payment_intents/:id/capture',
    handle(async (req, res) => {
      const intent = await ledger.intent(String(req.params.id));
      if (!intent) return error(res, 404, 'invalid_request_error', 'no such payment intent');
      const body = req.body as Record<string, unknown>;
      const amount = body.amount_to_capture;
      if (amount !== undefined && (!Number.isSafeInteger(amount) || (amount as number) <= 0))
        return error(res, 400, 'invalid_request_error', 'amount_to_capture must be a positive integer');
      // Every capture of it meets a provider having a bad day: a 503, nothing taken.
      const expired = intent.capture_before !== null && intent.capture_before.getTime() < Date.now();
      if (
        intent.token === 'tok_capture_unanswered' &&
        intent.status === 'requires_capture' &&
        !expired &&
        !answeredCaptures.has(intent.order_id)
      )
        return error(res, 503, 'api_error', 'tok_capture_unanswered: a transient failure');
      if (CAPTURE_FAILS.has(intent.token) && intent.status === 'requires_capture')
        return void res.status(402).json({
          error: { type: 'card_error', code: 'card_declined', message: 'the capture was declined' },
        });
      const captured = await ledger.capture(
        intent.id,
        amount as number | undefined,
        announce,
        settings.deliverAfterMs,
      );
      const refunded = await ledger.refunded([captured.id]);
      res.json(view(captured, refunded.get(captured.id) ?? 0));
    }),
  );

  /** Cancels an intent still waiting for the customer, or voids an authorisation (Stripe cancels only those, never one processing). */
  app.post(
    '/v1/payment_intents/:id/cancel',
    handle(async (req, res) => {
      const intent = await ledger.intent(String(req.params.id));
      if (!intent) return error(res, 404, 'invalid_request_error', 'no such payment intent');
      if (intent.status === 'processing')
        return error(res, 400, 'invalid_request_error', 'a processing payment intent cannot be canceled');
      const settled = await ledger.settle(
        intent.id,
        { status: 'canceled' },
        announce,
        settings.deliverAfterMs,
        ['requires_action', 'requires_capture'],
      );
      res.json(view(settled!));
    }),
  );

  /** The 3-D Secure page the customer's browser was sent to: a POST is the customer's answer. */
  app.post(
    '/3ds/:id',
    handle(async (req, res) => {
      const intent = await ledger.intent(String(req.params.id));
      if (!intent || (intent.token !== 'tok_3ds' && intent.token !== 'tok_3ds_async'))
        return error(res, 404, 'invalid_request_error', 'no such challenge');
      const failed = (req.body as { outcome?: string } | undefined)?.outcome === 'fail';
      // The bank has it now: processing, decided later (./webhooks.ts, `startBackground`).
      if (intent.token === 'tok_3ds_async' && !failed)
        return void res.json(view(await ledger.resume(intent.id)));
      const settled = await ledger.settle(
        intent.id,
        failed ? { status: 'requires_payment_method', code: 'authentication_failed' } : paid(intent),
        announce,
        settings.deliverAfterMs,
      );
      res.json(view(settled!));
    }),
  );

  app.post(
    '/v1/refunds',
    handle(async (req, res) => {
      const key = req.header('idempotency-key');
      const body = req.body as Record<string, unknown>;
      if (!key) return error(res, 400, 'invalid_request_error', 'an Idempotency-Key is required');
      if (
        !Number.isSafeInteger(body.amount) ||
        (body.amount as number) <= 0 ||
        typeof body.payment_intent !== 'string'
      )
        return error(res, 400, 'invalid_request_error', 'payment_intent and a positive amount are required');
      const refund = await ledger.refund({
        key,
        intentId: body.payment_intent,
        metadata: metadataOf(body),
        amount: body.amount as number,
        reason: typeof body.reason === 'string' ? body.reason : null,
      });
      res.json(refundView(refund));
    }),
  );

  app.get(
    '/v1/refunds',
    handle(async (req, res) => {
      const order = idOf(req.query.order);
      const intent = idOf(req.query.payment_intent);
      const given = [req.query.order, req.query.payment_intent].filter((q) => q !== undefined).length;
      if (given !== 1 || (order === undefined) === (intent === undefined))
        return error(res, 400, 'invalid_request_error', 'exactly one of order and payment_intent, an id');
      const refunds = await ledger.refundsOf(intent !== undefined ? { intent } : { order: order! });
      // The order's list is a search: behind its writes while the order's switch says so.
      const behind = order !== undefined ? (searchBehind.get(order) ?? 0) : 0;
      const listed =
        behind > 0 ? refunds.filter((r) => Date.now() - new Date(r.created_at).getTime() >= behind) : refunds;
      res.json({ object: 'list', data: listed.map(refundView) });
    }),
  );

  app.put('/v1/sandbox/captures/:orderId', (req, res) => {
    const orderId = String(req.params.orderId);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(orderId))
      return error(res, 400, 'invalid_request_error', 'orderId is an id');
    const answer = (req.body as { answer?: unknown } | undefined)?.answer;
    if (typeof answer !== 'boolean')
      return error(res, 400, 'invalid_request_error', 'answer is true or false');
    if (answer) answeredCaptures.add(orderId);
    else answeredCaptures.delete(orderId);
    res.json({ orderId, answer });
  });

  /** A switch putting an order's search (of refunds, or of payments) behind its writes by `behindMs`. */
  const searchSwitch = (behindBy: Map<string, number>) => (req: Request, res: Response) => {
    const orderId = String(req.params.orderId);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(orderId))
      return error(res, 400, 'invalid_request_error', 'orderId is an id');
    const behindMs = (req.body as { behindMs?: unknown } | undefined)?.behindMs;
    if (!Number.isSafeInteger(behindMs) || (behindMs as number) < 0 || (behindMs as number) > 3_600_000)
      return error(res, 400, 'invalid_request_error', 'behindMs is a whole number of ms, 0 to 3600000');
    if (behindMs === 0) behindBy.delete(orderId);
    else if (behindBy.size >= 10_000 && !behindBy.has(orderId))
      return error(res, 400, 'invalid_request_error', 'too many orders switched: switch some back first');
    else behindBy.set(orderId, behindMs as number);
    res.json({ orderId, behindMs });
  };
  app.put('/v1/sandbox/refund-search/:orderId', searchSwitch(searchBehind));
  app.put('/v1/sandbox/payment-search/:orderId', searchSwitch(paymentSearchBehind));

  app.use((_req: Request, res: Response) => error(res, 404, 'invalid_request_error', 'no such route'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof InvalidRequest) return error(res, 400, err.type, err.message);
    if ((err as { type?: string })?.type === 'entity.parse.failed')
      return error(res, 400, 'invalid_request_error', 'the body is not valid JSON');
    console.error(`request failed: ${describeError(err)}`);
    error(res, 500, 'api_error', 'unexpected error');
  });
  return app;
}
