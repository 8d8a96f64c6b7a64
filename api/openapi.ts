/**
 * The OpenAPI 3 document, generated from the route declarations (./routes, ./route.ts): the zod
 * schemas the routes validate with (./schemas.ts) and the response shapes
 * (./response-schemas.ts). No hand-written copy to drift.
 */
import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { STATUSES } from './problem';
import * as res from './response-schemas';
import { isSecured, type Route } from './route';
import { ROUTES } from './routes';

/** What every route under /v1 can answer besides its own: a bad token, a rate limit, an outage. */
const SECURED = [401, 429, 503];
/** And a route with a body: too large, or in a charset JSON is not. */
const WITH_BODY = [400, 413, 415];
/** And a route that takes an Idempotency-Key: a key that is not one, or one used with another body. */
const IDEMPOTENT = [400, 409];

/** Every status a route can answer, for the document and for the test that holds the routes to it. */
export function statusesOf(r: Route): number[] {
  const secured = isSecured(r);
  return [
    ...new Set([
      ...r.ok[0],
      ...r.errors,
      ...(secured ? SECURED : []),
      ...(r.body ? WITH_BODY : []),
      ...(r.idempotent ? IDEMPOTENT : []),
    ]),
  ].sort((a, b) => a - b);
}

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
    const secured = isSecured(r);
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
        ...(r.headers ? { headers: r.headers } : {}),
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
                content: { [r.produces ?? 'application/json']: { schema: r.ok[1] } },
                ...(links ? { links } : {}),
              }
            : { description: STATUSES[status]!.means, content: problemJson },
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
