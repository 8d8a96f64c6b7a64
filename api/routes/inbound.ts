/**
 * Events other systems send in (under /v1/inbound/, apart from the subscriptions of
 * /v1/webhooks/): authenticated by their signature (codec/webhook-signature.ts), never by a
 * bearer token. The signature is checked over the raw bytes before anything is parsed; a bad one
 * is a 400 that changes nothing; an event received before is answered and not acted on again.
 * The news goes to the workflow before the event is recorded: a failure is a 503 the sender
 * retries, never an event lost.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { signatureProblem, SIGNATURE_HEADER } from '../../codec/webhook-signature';
import { alreadyReceived, recordReceived } from '../../services/inbound/events';
import { chargeNewsOf } from '../../services/payment/http-provider';
import { toFulfilmentRecord } from '../../services/warehouse/http-warehouse';
import { pendingPaymentIds } from '../../services/orders/read-order';
import { loadExchange } from '../../services/orders/exchanges-store';
import { isPendingPayment } from '../../domain/exchanges';
import { sendProblem, STATUSES } from '../problem';
import * as res from '../response-schemas';
import { defineRoute, type Route, type RouteDeps } from '../route';
import type { Config } from '../../config';
import { fulfilmentEvent, paymentEvent } from '../schemas';
import { DomainError } from '../../domain/errors';
import { ID_PATTERN } from '../../domain/text';
import { isGivenUpRecall, recordLateRecallNews } from '../../services/orders/late-recall';

/**
 * The body, once its signature verified and it parsed as JSON; otherwise the problem is sent and
 * null returned (a body of JSON `null` is `{ json: null }`, refused by the event's schema).
 */
function verifiedJson(
  req: Request,
  reply: Response,
  secret: string | undefined,
  toleranceMs: number,
  setting: string,
): { json: unknown } | null {
  if (!secret) {
    sendProblem(reply, {
      status: 503,
      title: STATUSES[503]!.title,
      detail: `these webhooks are not configured (${setting})`,
      retryAfter: 60,
    });
    return null;
  }
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const problem = signatureProblem(secret, req.header(SIGNATURE_HEADER), raw, {
    now: Date.now(),
    toleranceMs,
  });
  if (problem) {
    sendProblem(reply, {
      status: 400,
      title: STATUSES[400]!.title,
      detail: `the signature does not verify (${problem})`,
    });
    return null;
  }
  try {
    return { json: JSON.parse(raw.toString('utf8')) as unknown };
  } catch {
    sendProblem(reply, { status: 400, title: STATUSES[400]!.title, detail: 'the body is not valid JSON' });
    return null;
  }
}

const signed = z.object({ [SIGNATURE_HEADER]: z.string().max(300) });

/**
 * One sender's signed events: verified, parsed, acted on once per event id (a duplicate is
 * answered and not acted on), then recorded. `act` answers the order the event was about.
 */
function signedEventsRoute<B extends z.ZodType<{ id: string; type: string }>>(spec: {
  id: string;
  path: string;
  summary: string;
  roles: string;
  body: B;
  source: string;
  secret: (config: Config) => string | undefined;
  setting: string;
  act: (event: z.output<B>, deps: RouteDeps) => Promise<string | null>;
}): Route {
  return defineRoute({
    id: spec.id,
    method: 'post',
    path: spec.path,
    summary: spec.summary,
    roles: spec.roles,
    open: true,
    raw: true,
    headers: signed,
    body: spec.body,
    ok: [[200], res.received],
    errors: [400, 503],
    async handle({ req, res: reply }, deps) {
      const { config, db } = deps;
      const verified = verifiedJson(
        req,
        reply,
        spec.secret(config),
        config.PAYMENT_WEBHOOK_TOLERANCE,
        spec.setting,
      );
      if (verified === null) return;
      const event = spec.body.parse(verified.json);
      if (await alreadyReceived(db, spec.source, event.id))
        return void reply.json({ received: true, duplicate: true });
      const orderId = await spec.act(event, deps);
      await recordReceived(db, { source: spec.source, eventId: event.id, type: event.type, orderId });
      reply.json({ received: true, duplicate: false });
    },
  });
}

export const inboundRoutes: Route[] = [
  signedEventsRoute({
    id: 'paymentEvents',
    path: '/v1/inbound/payments',
    summary: "The payment provider's events (signed: `x-signature: t=<unix>,v1=<HMAC-SHA256 of t.body>`)",
    roles: 'the payment provider, by signature',
    body: paymentEvent,
    source: 'payments',
    secret: (config) => config.PAYMENT_WEBHOOK_SECRET,
    setting: 'PAYMENT_WEBHOOK_SECRET',
    async act(event, { db, commands }) {
      const update = chargeNewsOf(event);
      const orderId = event.data.object.metadata?.order_id;
      // Not one of this service's payments: a 200 (the provider would send it again for days).
      if (orderId === undefined || !ID_PATTERN.test(orderId)) return null;
      // An exchange's difference is charged under the exchange's own id: its news goes to it.
      const exchange = orderId.startsWith('exc_') ? await loadExchange(db, orderId) : null;
      if (exchange) {
        if (update && exchange.payment?.id === update.paymentId && isPendingPayment(exchange.payment))
          await commands.exchangePaymentNews(exchange.id, update);
        return exchange.orderId;
      }
      // Only news of a charge the order waits for goes to its workflow (a charge it was answered
      // about needs none). A pending charge not yet recorded is found by the workflow's own asking.
      if (update && (await pendingPaymentIds(db, orderId)).includes(update.paymentId))
        await commands.paymentUpdate(orderId, update);
      return orderId;
    },
  }),
  signedEventsRoute({
    id: 'fulfilmentEvents',
    path: '/v1/inbound/fulfilment',
    summary:
      "The warehouse's and its carrier's events: accepted, picked, packed, shipped, in transit, delivered (signed like the payment provider's, with WAREHOUSE_WEBHOOK_SECRET)",
    roles: 'the warehouse, by signature',
    body: fulfilmentEvent,
    source: 'warehouse',
    secret: (config) => config.WAREHOUSE_WEBHOOK_SECRET,
    setting: 'WAREHOUSE_WEBHOOK_SECRET',
    async act(event, { db, commands }) {
      // A fulfilment whose workflow has ended (delivered, refused) has nothing more to hear, but
      // for a recalled parcel its order gave up as lost, back at its sender or delivered after all:
      // recorded here once the order's workflow has closed (services/orders/late-recall.ts). While it still
      // runs (a charge or a capture keeps it open), its records and this one would share a place
      // in the history: a 503, and the warehouse sends the news again later.
      const record = toFulfilmentRecord(event.data.object);
      const told = await commands.fulfilmentNews(record);
      if (!told && (await isGivenUpRecall(db, record))) {
        if (await commands.orderWorkflowRunning(record.orderId))
          throw new DomainError("the parcel's order is still settling: send this news again later", 503);
        await recordLateRecallNews(db, record, new Date().toISOString());
      }
      return record.orderId;
    },
  }),
];
