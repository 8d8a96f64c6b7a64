/**
 * The OpenAPI 3 document, generated from the zod schemas the routes validate with (./schemas.ts)
 * and the response shapes (./response-schemas.ts): no hand-written copy to drift.
 */
import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z, type ZodTypeAny } from 'zod';
import * as res from './response-schemas';
import * as req from './schemas';

type Method = RouteConfig['method'];
interface Route {
  /** The operationId, which links point at. */
  id: string;
  method: Method;
  path: string;
  summary: string;
  roles: string;
  body?: ZodTypeAny;
  query?: z.AnyZodObject;
  params?: Record<string, ZodTypeAny>;
  /** The success statuses (a PUT answers 201 when it created, 200 when it replaced) and their body. */
  ok: [number[], ZodTypeAny];
  errors: number[];
  idempotent?: boolean;
  /** Operations a success leads to, and what they take from it (OpenAPI links; the stateful fuzzer follows them). */
  links?: Links;
}

/** Target operationId → its parameters (runtime expressions) and, where a real value is needed, a body. */
type Links = Record<string, { parameters?: Record<string, string>; requestBody?: unknown }>;

const orderId = { id: req.orderIdParam };
/** What every route under /v1 can answer besides its own: a bad token, a rate limit, an outage. */
const SECURED = [401, 429, 503];
/** And a route with a body: too large, or in a charset JSON is not. */
const WITH_BODY = [400, 413, 415];
const withId = (from: string, targets: string[], bodies: Record<string, unknown> = {}): Links =>
  Object.fromEntries(
    targets.map((to) => [
      to,
      { parameters: { id: from }, ...(to in bodies ? { requestBody: bodies[to] } : {}) },
    ]),
  );
/** From any answer that is an order, to everything one can do with it (paying with a token that pays). */
const ORDER_LINKS = withId(
  '$response.body#/order/id',
  [
    'getOrder',
    'payOrder',
    'shipOrder',
    'confirmOrder',
    'cancelOrder',
    'modifyOrder',
    'refundOrder',
    'requestReturn',
  ],
  { payOrder: { paymentToken: 'tok_ok' } },
);
const RETURN_LINKS = withId('$response.body#/return/id', [
  'getReturn',
  'approveReturn',
  'rejectReturn',
  'receiveReturn',
]);
const ROUTES: Route[] = [
  {
    id: 'putProduct',
    method: 'put',
    path: '/v1/products/{sku}',
    summary: 'Create (201) or replace (200) a product and set its on-hand stock',
    roles: 'merchant, support',
    params: { sku: req.skuParam },
    body: req.productBody,
    ok: [[200, 201], res.product],
    errors: [403, 422],
    // A product just put is one an order can hold.
    links: {
      getProduct: { parameters: { sku: '$request.path.sku' } },
      createOrder: { requestBody: { items: [{ sku: '$request.path.sku', quantity: 1 }] } },
    },
  },
  {
    id: 'getProduct',
    method: 'get',
    path: '/v1/products/{sku}',
    summary: 'A product with its stock',
    roles: 'any',
    params: { sku: req.skuParam },
    ok: [[200], res.product],
    errors: [400, 404],
  },
  {
    id: 'putPromotion',
    method: 'put',
    path: '/v1/promotions/{code}',
    summary: 'Create (201) or replace (200) a promotion',
    roles: 'merchant, support',
    params: { code: req.promotionCodeParam },
    body: req.promotionBody,
    ok: [[200, 201], res.promotion],
    errors: [403],
    links: { getPromotion: { parameters: { code: '$request.path.code' } } },
  },
  {
    id: 'getPromotion',
    method: 'get',
    path: '/v1/promotions/{code}',
    summary: 'A promotion with its uses',
    roles: 'merchant, support',
    params: { code: req.promotionCodeParam },
    ok: [[200], res.promotion],
    errors: [400, 403, 404],
  },
  {
    id: 'putMember',
    method: 'put',
    path: '/v1/members/{customerId}',
    summary: "Set a customer's member tier",
    roles: 'merchant, support',
    params: { customerId: req.customerIdParam },
    body: req.memberBody,
    ok: [[200], res.member],
    errors: [403],
  },
  {
    id: 'getMember',
    method: 'get',
    path: '/v1/members/{customerId}',
    summary: "A customer's member tier",
    roles: 'merchant, support',
    params: { customerId: req.customerIdParam },
    ok: [[200], res.member],
    errors: [400, 403],
  },
  {
    id: 'createOrder',
    method: 'post',
    path: '/v1/orders',
    summary: 'Place an order (priced, stock and coupon checked before the 201)',
    roles: 'customer',
    body: req.createOrderBody,
    ok: [[201], res.orderEnvelope],
    errors: [403, 409, 422],
    idempotent: true,
    links: ORDER_LINKS,
  },
  {
    id: 'listOrders',
    method: 'get',
    path: '/v1/orders',
    summary: 'List orders (customers: their own), newest first',
    roles: 'any',
    query: req.listOrdersQuery,
    ok: [[200], res.orderList],
    errors: [400],
  },
  {
    id: 'getOrder',
    method: 'get',
    path: '/v1/orders/{id}',
    summary: 'An order, as the caller’s role sees it',
    roles: 'owner, merchant, support',
    params: orderId,
    ok: [[200], res.orderEnvelope],
    errors: [400, 404],
    links: ORDER_LINKS,
  },
  {
    id: 'modifyOrder',
    method: 'patch',
    path: '/v1/orders/{id}',
    summary: 'Change the address (until shipped) or lower quantities (before payment)',
    roles: 'owner, merchant, support',
    params: orderId,
    body: req.patchOrderBody,
    ok: [[200], res.orderEnvelope],
    errors: [403, 404, 409, 422],
    idempotent: true,
    links: ORDER_LINKS,
  },
  {
    id: 'payOrder',
    method: 'post',
    path: '/v1/orders/{id}/pay',
    summary: 'Pay (sandbox tokens: tok_ok, tok_declined, tok_insufficient_funds, tok_flaky)',
    roles: 'owner',
    params: orderId,
    body: req.payBody,
    ok: [[200], res.orderEnvelope],
    errors: [402, 403, 404, 409, 422],
    idempotent: true,
    links: ORDER_LINKS,
  },
  {
    id: 'shipOrder',
    method: 'post',
    path: '/v1/orders/{id}/ship',
    summary: 'Ship',
    roles: 'merchant',
    params: orderId,
    body: req.shipBody,
    ok: [[200], res.orderEnvelope],
    errors: [403, 404, 409],
    idempotent: true,
    links: ORDER_LINKS,
  },
  {
    id: 'confirmOrder',
    method: 'post',
    path: '/v1/orders/{id}/confirm',
    summary: 'Confirm receipt',
    roles: 'owner',
    params: orderId,
    body: req.emptyBody,
    ok: [[200], res.orderEnvelope],
    errors: [403, 404, 409],
    idempotent: true,
    links: ORDER_LINKS,
  },
  {
    id: 'cancelOrder',
    method: 'post',
    path: '/v1/orders/{id}/cancel',
    summary: 'Cancel (refunds what was paid)',
    roles: 'owner until shipped, merchant, support',
    params: orderId,
    body: req.cancelBody,
    ok: [[200], res.orderEnvelope],
    errors: [403, 404, 409],
    idempotent: true,
    links: ORDER_LINKS,
  },
  {
    id: 'refundOrder',
    method: 'post',
    path: '/v1/orders/{id}/refunds',
    summary: 'Refund some units, or all that is left',
    roles: 'merchant, support',
    params: orderId,
    body: req.refundBody,
    ok: [[201], res.refund],
    errors: [403, 404, 409, 422],
    idempotent: true,
  },
  {
    id: 'requestReturn',
    method: 'post',
    path: '/v1/orders/{id}/returns',
    summary: 'Request a return (within the after-sales window)',
    roles: 'owner',
    params: orderId,
    body: req.returnBody,
    ok: [[201], res.returnEnvelope],
    errors: [403, 404, 409, 422],
    idempotent: true,
    links: RETURN_LINKS,
  },
  {
    id: 'getReturn',
    method: 'get',
    path: '/v1/returns/{id}',
    summary: 'A return',
    roles: 'owner, merchant, support',
    params: { id: req.returnIdParam },
    ok: [[200], res.returnEnvelope],
    errors: [400, 404],
  },
  ...(['approve', 'reject', 'receive'] as const).map((action): Route => ({
    id: `${action}Return`,
    method: 'post',
    path: `/v1/returns/{id}/${action}`,
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} a return`,
    roles: 'merchant, support',
    params: { id: req.returnIdParam },
    body: req.returnActionBody,
    ok: [[200], res.returnEnvelope],
    errors: [403, 404, 409],
    idempotent: true,
  })),
  {
    id: 'orderTypes',
    method: 'get',
    path: '/v1/order-types',
    summary: 'Every order type’s state machine, as data',
    roles: 'anyone',
    ok: [[200], res.orderTypes],
    errors: [429],
  },
  {
    id: 'healthz',
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    roles: 'anyone',
    ok: [[200], res.health],
    errors: [],
  },
  {
    id: 'readyz',
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: 200 only when Temporal and PostgreSQL answer',
    roles: 'anyone',
    ok: [[200], res.health],
    errors: [503],
  },
];

const TITLES: Record<number, string> = {
  400: 'Invalid input (a bad path parameter, query, header or body; `errors` says where)',
  401: 'No or bad token',
  402: 'Payment declined',
  403: 'Not allowed for this role',
  404: 'Not found (or not yours)',
  409: 'Not allowed in the current state, or Idempotency-Key reused with another body',
  413: 'The body is too large',
  415: 'The body is not JSON in a charset the API reads',
  422: 'A business rule refused it',
  429: 'Too many requests (per token, and per client address)',
  503: 'A dependency is unreachable; retry after Retry-After',
};

/** Every status a route can answer, for the document and for the test that holds the routes to it. */
export function statusesOf(r: Route): number[] {
  const secured = r.path.startsWith('/v1/') && r.id !== 'orderTypes';
  return [
    ...new Set([...r.ok[0], ...r.errors, ...(secured ? SECURED : []), ...(r.body ? WITH_BODY : [])]),
  ].sort((a, b) => a - b);
}

export const routes: readonly Route[] = ROUTES;

let cached: object | undefined;

export function openApiDocument(): object {
  if (cached) return cached;
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  const problemJson = { 'application/problem+json': { schema: res.problem } };
  for (const r of ROUTES) {
    const secured = r.path.startsWith('/v1/') && r.id !== 'orderTypes';
    const links = r.links
      ? Object.fromEntries(Object.entries(r.links).map(([to, link]) => [to, { operationId: to, ...link }]))
      : undefined;
    registry.registerPath({
      operationId: r.id,
      method: r.method,
      path: r.path,
      summary: r.summary,
      description: `Roles: ${r.roles}.`,
      ...(secured ? { security: [{ [bearer.name]: [] }] } : {}),
      request: {
        ...(r.params ? { params: z.object(r.params) } : {}),
        ...(r.query ? { query: r.query } : {}),
        ...(r.body ? { body: { content: { 'application/json': { schema: r.body } }, required: true } } : {}),
        ...(r.idempotent
          ? {
              headers: z.object({
                'idempotency-key': z
                  .string()
                  .min(1)
                  .max(200)
                  .regex(/^[\x21-\x7E]+$/)
                  .optional(),
              }),
            }
          : {}),
      },
      responses: Object.fromEntries(
        statusesOf(r).map((status) => [
          status,
          r.ok[0].includes(status)
            ? {
                description: status === 201 ? 'Created' : 'OK',
                content: { 'application/json': { schema: r.ok[1] } },
                ...(links ? { links } : {}),
              }
            : { description: TITLES[status]!, content: problemJson },
        ]),
      ),
    });
  }
  cached = new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'Order service',
      version: '1.0.0',
      description: 'The HTTP contract of ../shared/API.md. Money is integer minor units.',
    },
    servers: [{ url: '/' }],
  });
  return cached;
}

/** A readable reference page, rendered from the same document: no external assets. */
export function docsPage(): string {
  const doc = openApiDocument() as {
    paths: Record<
      string,
      Record<
        string,
        {
          summary?: string;
          description?: string;
          requestBody?: unknown;
          responses: Record<string, { description: string }>;
        }
      >
    >;
  };
  const esc = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const rows = Object.entries(doc.paths).flatMap(([p, methods]) =>
    Object.entries(methods).map(
      ([
        m,
        op,
      ]) => `<section><h3><code>${m.toUpperCase()} ${esc(p)}</code></h3><p>${esc(op.summary ?? '')} <em>${esc(op.description ?? '')}</em></p>
<p>Responses: ${Object.entries(op.responses)
        .map(([s, r]) => `<code>${s}</code> ${esc(r.description)}`)
        .join(' · ')}</p>
${op.requestBody ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(op.requestBody, null, 2))}</pre></details>` : ''}</section>`,
    ),
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>Order service API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}code{background:#f3f3f3;padding:0 .2em}section{border-top:1px solid #ddd;padding:.5em 0}pre{background:#f7f7f7;padding:.5em;overflow:auto}</style>
</head><body><h1>Order service API</h1><p>The machine-readable document is at <a href="/openapi.json">/openapi.json</a>. Errors are <code>application/problem+json</code>. Authenticate with <code>Authorization: Bearer &lt;JWT&gt;</code>.</p>
${rows.join('\n')}</body></html>`;
}
