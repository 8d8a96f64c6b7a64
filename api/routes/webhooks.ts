/**
 * Events out (issue 22): an order's events as the outbox holds them, webhook subscriptions, and
 * what was delivered to each. Deliveries themselves are the worker's (worker/webhook-dispatcher.ts).
 */
import { secretBox, secretKeysOf } from '../../codec/secret-box';
import { BusinessRuleError, NotFoundError } from '../../domain/errors';
import { eventsOf } from '../../services/events/outbox';
import { urlProblem, type UrlProblem } from '../../services/webhooks/addresses';
import {
  deliveriesOf,
  getWebhook,
  listWebhooks,
  putWebhook,
  redeliver,
} from '../../services/webhooks/subscriptions';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import {
  deliveriesQuery,
  eventIdParam,
  eventsQuery,
  webhooksQuery,
  orderIdParam,
  webhookBody,
  webhookIdParam,
} from '../schemas';

const REFUSED: Record<UrlProblem, string> = {
  scheme: 'the URL must be http or https',
  credentials: 'the URL must not carry a user name or password',
  unresolvable: 'the URL’s host does not resolve',
  private: 'the URL resolves to a loopback or private address (allowed only with WEBHOOK_ALLOW_PRIVATE=true)',
};

export const webhookRoutes: Route[] = [
  defineRoute({
    id: 'listOrderEvents',
    method: 'get',
    path: '/v1/orders/{id}/events',
    summary: 'An order’s events in sequence, as webhooks deliver them (the outbox), a page at a time',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: orderIdParam },
    query: eventsQuery,
    ok: [[200], res.orderEventList],
    errors: [400, 403, 404],
    async handle({ res: reply, params, query }, { db }) {
      if (!(await db('orders').where({ id: params.id }).first('id'))) throw new NotFoundError('order');
      reply.json(await eventsOf(db, params.id, query));
    },
  }),
  defineRoute({
    id: 'putWebhook',
    method: 'put',
    path: '/v1/webhooks/{id}',
    summary:
      'Create (201) or replace (200) a webhook subscription: the order center’s events of these types, POSTed signed to this URL',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: webhookIdParam },
    body: webhookBody,
    ok: [[200, 201], res.webhook],
    errors: [400, 403, 409, 422],
    idempotent: true,
    async handle({ res: reply, params, body }, { db, config }) {
      const problem = await urlProblem(body.url, { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE });
      if (problem) throw new BusinessRuleError('WEBHOOK_URL_REFUSED', REFUSED[problem], { reason: problem });
      const { webhook, created } = await putWebhook(db, params.id, body, secretBox(secretKeysOf(config)));
      reply.status(created ? 201 : 200).json({ webhook });
    },
  }),
  defineRoute({
    id: 'getWebhook',
    method: 'get',
    path: '/v1/webhooks/{id}',
    summary: 'A webhook subscription (its secret is never shown)',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: webhookIdParam },
    ok: [[200], res.webhook],
    errors: [400, 403, 404],
    async handle({ res: reply, params }, { db }) {
      const webhook = await getWebhook(db, params.id);
      if (!webhook) throw new NotFoundError('webhook');
      reply.json({ webhook });
    },
  }),
  defineRoute({
    id: 'listWebhooks',
    method: 'get',
    path: '/v1/webhooks',
    summary: 'The webhook subscriptions, by id, a page at a time',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    query: webhooksQuery,
    ok: [[200], res.webhookList],
    errors: [400, 403],
    async handle({ res: reply, query }, { db }) {
      reply.json(await listWebhooks(db, query));
    },
  }),
  defineRoute({
    id: 'listWebhookDeliveries',
    method: 'get',
    path: '/v1/webhooks/{id}/deliveries',
    summary:
      'A subscription’s deliveries, newest first: status, attempts, the last error and the next try (by `status`, `orderId`)',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: webhookIdParam },
    query: deliveriesQuery,
    ok: [[200], res.deliveryList],
    errors: [400, 403, 404],
    async handle({ res: reply, params, query }, { db }) {
      if (!(await getWebhook(db, params.id))) throw new NotFoundError('webhook');
      reply.json(await deliveriesOf(db, params.id, query));
    },
  }),
  defineRoute({
    id: 'redeliverWebhook',
    method: 'post',
    path: '/v1/webhooks/{id}/deliveries/{eventId}/redeliver',
    summary:
      'Send one event again (a failed one, or one the receiver lost), with a new retry window; that order’s later events wait for it',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: webhookIdParam, eventId: eventIdParam },
    ok: [[202], res.deliveryOne],
    errors: [400, 403, 404],
    async handle({ res: reply, params }, { db }) {
      const delivery = await redeliver(db, params.id, params.eventId);
      if (!delivery) throw new NotFoundError('delivery');
      reply.status(202).json({ delivery });
    },
  }),
];
