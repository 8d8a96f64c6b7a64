/** Catalogue and stock: merchants and support create or replace products and locations and set on-hand stock. */
import { putProduct, readProduct } from '../../services/catalogue/products';
import { listLocations, putLocation, putStockLevel, readLocation } from '../../services/inventory/locations';
import { requestIdFromKey } from '../idempotency';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import {
  locationBody,
  locationIdParam,
  locationsQuery,
  productBody,
  skuParam,
  stockLevelBody,
} from '../schemas';

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
    errors: [403, 409, 422],
    idempotent: true,
    // A product just put is one an order can hold.
    links: {
      getProduct: { parameters: { sku: '$request.path.sku' } },
      createOrder: { requestBody: { items: [{ sku: '$request.path.sku', quantity: 1 }] } },
    },
    async handle({ req, res: reply, params, body }, { db }) {
      const created = await putProduct(db, params.sku, body, requestIdFromKey(req, params.sku, 'putProduct'));
      reply.status(created ? 201 : 200).json(await readProduct(db, params.sku));
    },
  }),
  defineRoute({
    id: 'getProduct',
    method: 'get',
    path: '/v1/products/{sku}',
    summary: 'A product with its stock',
    roles: 'any',
    allow: ['merchant', 'support', 'customer', 'channel'],
    params: { sku: skuParam },
    ok: [[200], res.product],
    errors: [400, 404],
    async handle({ res: reply, params }, { db }) {
      reply.json(await readProduct(db, params.sku));
    },
  }),
  defineRoute({
    id: 'putStockLevel',
    method: 'put',
    path: '/v1/products/{sku}/stock/{location}',
    summary: "Set a product's on-hand stock at one location",
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { sku: skuParam, location: locationIdParam },
    body: stockLevelBody,
    ok: [[200], res.product],
    errors: [400, 403, 404, 409, 422],
    idempotent: true,
    async handle({ req, res: reply, params, body }, { db }) {
      const request = requestIdFromKey(req, `${params.sku} ${params.location}`, 'putStockLevel');
      await putStockLevel(db, params.sku, params.location, body.onHand, request);
      reply.json(await readProduct(db, params.sku));
    },
  }),
  defineRoute({
    id: 'putLocation',
    method: 'put',
    path: '/v1/locations/{id}',
    summary: 'Create (201) or replace (200) a stock location: a warehouse or shop, with its rank',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: locationIdParam },
    body: locationBody,
    ok: [[200, 201], res.location],
    errors: [400, 403, 409],
    idempotent: true,
    async handle({ res: reply, params, body }, { db }) {
      const created = await putLocation(db, params.id, body);
      reply.status(created ? 201 : 200).json(await readLocation(db, params.id));
    },
  }),
  defineRoute({
    id: 'getLocation',
    method: 'get',
    path: '/v1/locations/{id}',
    summary: 'A stock location',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    params: { id: locationIdParam },
    ok: [[200], res.location],
    errors: [400, 403, 404],
    async handle({ res: reply, params }, { db }) {
      reply.json(await readLocation(db, params.id));
    },
  }),
  defineRoute({
    id: 'listLocations',
    method: 'get',
    path: '/v1/locations',
    summary: 'The stock locations, best-ranked first, a page at a time',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    query: locationsQuery,
    ok: [[200], res.locationList],
    errors: [400, 403],
    async handle({ res: reply, query }, { db }) {
      reply.json(await listLocations(db, query));
    },
  }),
];
