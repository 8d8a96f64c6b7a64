/** Fulfilments as the order center keeps them: staff find the ones a warehouse has sat on. */
import { stalledFulfilments } from '../../services/fulfilment/fulfilments';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import { stalledQuery } from '../schemas';

export const fulfilmentRoutes: Route[] = [
  defineRoute({
    id: 'listStalledFulfilments',
    method: 'get',
    path: '/v1/fulfilments',
    summary:
      'Fulfilments still in a warehouse’s hands whose last news is older than `stalledFor` (e.g. 2h), oldest first, with the units they hold',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    query: stalledQuery,
    ok: [[200], res.fulfilmentList],
    errors: [400, 403],
    async handle({ res: reply, query }, { db }) {
      reply.json(await stalledFulfilments(db, query.stalledFor, query));
    },
  }),
];
