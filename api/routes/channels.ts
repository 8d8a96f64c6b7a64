/**
 * Sales channels (issue 22): the shop's own (`web`) and partners' systems that place orders for
 * their customers with a `channel` token. A channel may be limited to some order types and have a
 * payment timeout of its own.
 */
import { NotFoundError } from '../../domain/errors';
import { getChannel, listChannels, putChannel } from '../../services/channels/channels';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import { channelBody, channelIdParam, channelsQuery } from '../schemas';

export const channelRoutes: Route[] = [
  defineRoute({
    id: 'putChannel',
    method: 'put',
    path: '/v1/channels/{id}',
    summary:
      'Create (201) or replace (200) a sales channel: its name, the order types it may place, its own payment timeout',
    roles: 'merchant',
    allow: ['merchant'],
    params: { id: channelIdParam },
    body: channelBody,
    ok: [[200, 201], res.channel],
    errors: [400, 403, 409],
    idempotent: true,
    async handle({ res: reply, params, body }, { db }) {
      const { channel, created } = await putChannel(db, params.id, {
        name: body.name,
        ...(body.paymentTimeout !== undefined ? { paymentTimeoutMs: body.paymentTimeout } : {}),
        ...(body.orderTypes ? { orderTypes: body.orderTypes } : {}),
      });
      reply.status(created ? 201 : 200).json({ channel });
    },
  }),
  defineRoute({
    id: 'getChannel',
    method: 'get',
    path: '/v1/channels/{id}',
    summary: 'A sales channel',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: channelIdParam },
    ok: [[200], res.channel],
    errors: [400, 403, 404],
    async handle({ res: reply, params }, { db }) {
      const channel = await getChannel(db, params.id);
      if (!channel) throw new NotFoundError('channel');
      reply.json({ channel });
    },
  }),
  defineRoute({
    id: 'listChannels',
    method: 'get',
    path: '/v1/channels',
    summary: 'The sales channels, by id, a page at a time',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    query: channelsQuery,
    ok: [[200], res.channelList],
    errors: [400, 403],
    async handle({ res: reply, query }, { db }) {
      reply.json(await listChannels(db, query));
    },
  }),
];
