/** Promotions (coupons) and member tiers: set by merchants and support. */
import type { Knex } from 'knex';
import { NotFoundError } from '../../domain/errors';
import { getChannel } from '../../services/channels/channels';
import { readMembership, setMemberTier } from '../../services/promotion/members';
import { DEFAULT_CHANNEL } from '../auth';
import { putPromotion, readPromotion } from '../../services/promotion/promotions';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import { customerIdParam, memberBody, memberQuery, promotionBody, promotionCodeParam } from '../schemas';

const STAFF = ['merchant', 'support'] as const;

/** The channel a member is asked of (the web shop's by default): a 404 unless it is registered. */
async function registered(db: Knex, channel = DEFAULT_CHANNEL): Promise<string> {
  if (!(await getChannel(db, channel))) throw new NotFoundError('channel');
  return channel;
}

export const promotionRoutes: Route[] = [
  defineRoute({
    id: 'putPromotion',
    method: 'put',
    path: '/v1/promotions/{code}',
    summary: 'Create (201) or replace (200) a promotion',
    roles: 'merchant, support',
    allow: STAFF,
    params: { code: promotionCodeParam },
    body: promotionBody,
    ok: [[200, 201], res.promotion],
    errors: [403, 409],
    idempotent: true,
    links: { getPromotion: { parameters: { code: '$request.path.code' } } },
    async handle({ res: reply, params, body }, { db }) {
      const created = await putPromotion(db, params.code, body);
      reply.status(created ? 201 : 200).json(await readPromotion(db, params.code));
    },
  }),
  defineRoute({
    id: 'getPromotion',
    method: 'get',
    path: '/v1/promotions/{code}',
    summary: 'A promotion with its uses',
    roles: 'merchant, support',
    allow: STAFF,
    params: { code: promotionCodeParam },
    ok: [[200], res.promotion],
    errors: [400, 403, 404],
    async handle({ res: reply, params }, { db }) {
      reply.json(await readPromotion(db, params.code));
    },
  }),
  defineRoute({
    id: 'putMember',
    method: 'put',
    path: '/v1/members/{customerId}',
    summary: "Set a customer's member tier",
    roles: 'merchant, support',
    allow: STAFF,
    params: { customerId: customerIdParam },
    query: memberQuery,
    body: memberBody,
    ok: [[200], res.member],
    errors: [400, 403, 404],
    async handle({ res: reply, params, query, body }, { db }) {
      reply.json(await setMemberTier(db, params.customerId, await registered(db, query.channel), body.tier));
    },
  }),
  defineRoute({
    id: 'getMember',
    method: 'get',
    path: '/v1/members/{customerId}',
    summary: "A customer's member tier",
    roles: 'merchant, support',
    allow: STAFF,
    params: { customerId: customerIdParam },
    query: memberQuery,
    ok: [[200], res.member],
    errors: [400, 403, 404],
    async handle({ res: reply, params, query }, { db }) {
      reply.json(await readMembership(db, params.customerId, await registered(db, query.channel)));
    },
  }),
];
