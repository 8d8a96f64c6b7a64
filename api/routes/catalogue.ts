/** Catalogue and stock: merchants and support create or replace products and set on-hand stock. */
import { putProduct, readProduct } from '../../services/catalogue/products';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import { productBody, skuParam } from '../schemas';

export const catalogueRoutes: Route[] = [
  defineRoute({
    id: 'putProduct',
    method: 'put',
    path: '/v1/products/{sku}',
    summary: 'Create (201) or replace (200) a product and set its on-hand stock',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { sku: skuParam },
    body: productBody,
    ok: [[200, 201], res.product],
    errors: [403, 422],
    // A product just put is one an order can hold.
    links: {
      getProduct: { parameters: { sku: '$request.path.sku' } },
      createOrder: { requestBody: { items: [{ sku: '$request.path.sku', quantity: 1 }] } },
    },
    async handle({ res: reply, params, body }, { db }) {
      const created = await putProduct(db, params.sku, body);
      reply.status(created ? 201 : 200).json(await readProduct(db, params.sku));
    },
  }),
  defineRoute({
    id: 'getProduct',
    method: 'get',
    path: '/v1/products/{sku}',
    summary: 'A product with its stock',
    roles: 'any',
    allow: ['merchant', 'support', 'customer'],
    params: { sku: skuParam },
    ok: [[200], res.product],
    errors: [400, 404],
    async handle({ res: reply, params }, { db }) {
      reply.json(await readProduct(db, params.sku));
    },
  }),
];
