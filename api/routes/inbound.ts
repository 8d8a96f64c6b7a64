/**
 * Events other systems send in (under /v1/inbound/, apart from the subscriptions of
 * /v1/webhooks/): authenticated by their signature (codec/webhook-signature.ts), never by a
 * bearer token. The signature is checked over the raw bytes before anything is parsed; a bad one
 * is a 400 that changes nothing; an event received before is answered and not acted on again.
 */
import { signatureProblem, SIGNATURE_HEADER } from '../../codec/webhook-signature';
import { alreadyReceived, recordReceived } from '../../services/inbound/events';
import { chargeNewsOf } from '../../services/payment/http-provider';
import { pendingPaymentIds } from '../../services/orders/read-order';
import { z } from 'zod';
import { sendProblem, STATUSES } from '../problem';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import { paymentEvent } from '../schemas';

export const inboundRoutes: Route[] = [
  defineRoute({
    id: 'paymentEvents',
    method: 'post',
    path: '/v1/inbound/payments',
    summary: "The payment provider's events (signed: `x-signature: t=<unix>,v1=<HMAC-SHA256 of t.body>`)",
    roles: 'the payment provider, by signature',
    open: true,
    raw: true,
    headers: z.object({ [SIGNATURE_HEADER]: z.string().max(300) }),
    body: paymentEvent,
    ok: [[200], res.received],
    errors: [400, 503],
    async handle({ req, res: reply }, { config, db, commands }) {
      const secret = config.PAYMENT_WEBHOOK_SECRET;
      if (!secret)
        return sendProblem(reply, {
          status: 503,
          title: STATUSES[503]!.title,
          detail: 'payment webhooks are not configured (PAYMENT_WEBHOOK_SECRET)',
          retryAfter: 60,
        });
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const problem = signatureProblem(secret, req.header(SIGNATURE_HEADER), raw, {
        now: Date.now(),
        toleranceMs: config.PAYMENT_WEBHOOK_TOLERANCE,
      });
      if (problem)
        return sendProblem(reply, {
          status: 400,
          title: STATUSES[400]!.title,
          detail: `the signature does not verify (${problem})`,
        });
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendProblem(reply, {
          status: 400,
          title: STATUSES[400]!.title,
          detail: 'the body is not valid JSON',
        });
      }
      const event = paymentEvent.parse(json);
      if (await alreadyReceived(db, 'payments', event.id))
        return void reply.json({ received: true, duplicate: true });
      const update = chargeNewsOf(event);
      const orderId = event.data.object.metadata.order_id;
      // Only news of a charge the order waits for goes to its workflow (a charge it was answered
      // about needs none); told before it is recorded: a failure here is a 503 the provider
      // retries, never an event lost. A pending charge not yet recorded is found by the workflow's
      // own asking.
      if (update && (await pendingPaymentIds(db, orderId)).includes(update.paymentId))
        await commands.paymentUpdate(orderId, update);
      await recordReceived(db, { source: 'payments', eventId: event.id, type: event.type, orderId });
      reply.json({ received: true, duplicate: false });
    },
  }),
];
