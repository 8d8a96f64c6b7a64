/**
 * One declaration per route: what the OpenAPI document says of it (api/openapi.ts) and what
 * mounts it (role check, idempotency, parsing), so the two cannot drift. Handlers get the parsed
 * input and the app's dependencies; they authorise what only data can tell (an order's owner)
 * and call a service or the order workflows.
 */
import type { Client } from '@temporalio/client';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { AnyZodObject, z, ZodTypeAny } from 'zod';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import type { Role } from '../domain/roles';
import { principalOf, requireRole, type Principal } from './auth';
import type { OrderCommands } from './order-commands';
import type { SearchAttributeGuard } from './search-attributes';
import { route as catching } from './problem';
import { routeLabel } from './metrics';

export type Method = 'get' | 'put' | 'post' | 'patch' | 'delete';

/** Target operationId → its parameters (runtime expressions) and, where a real value is needed, a body. */
export type Links = Record<string, { parameters?: Record<string, string>; requestBody?: unknown }>;

export interface RouteDeps {
  config: Config;
  db: Db;
  temporal: Client;
  commands: OrderCommands;
  searchAttributes: SearchAttributeGuard;
}

type Shape = Record<string, ZodTypeAny>;
type Parsed<S extends Shape> = { [K in keyof S]: z.output<S[K]> };

export interface Call<P extends Shape, Q extends AnyZodObject, B extends ZodTypeAny> {
  req: Request;
  res: Response;
  params: Parsed<P>;
  query: z.output<Q>;
  body: z.output<B>;
  /** The caller, on routes that take a token. */
  principal: () => Principal;
}

export interface Route<
  P extends Shape = Shape,
  Q extends AnyZodObject = AnyZodObject,
  B extends ZodTypeAny = ZodTypeAny,
> {
  /** The operationId, which links point at. */
  id: string;
  method: Method;
  /** As OpenAPI writes it, `{id}` for a parameter. */
  path: string;
  summary: string;
  /** Who may call it, in words (the document's description). */
  roles: string;
  /** Roles refused at the edge, before anything is read; finer rules (an order's owner) are the handler's or the machine's. */
  allow?: readonly Role[];
  /** No bearer token: health checks, the order types. */
  open?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** Headers the operation reads, for the document (a webhook's signature). */
  headers?: AnyZodObject;
  /** The body is read as bytes (a signed webhook): the handler verifies it, then parses it with `body`. */
  raw?: boolean;
  /** The success statuses (a PUT answers 201 when it created, 200 when it replaced) and their body. */
  ok: [number[], ZodTypeAny];
  /** The success body's media type, when it is not JSON (an export's CSV). */
  produces?: string;
  errors: number[];
  /** Takes an Idempotency-Key (api/idempotency.ts). */
  idempotent?: boolean;
  /** Operations a success leads to, and what they take from it (OpenAPI links; the stateful fuzzer follows them). */
  links?: Links;
  handle: (call: Call<P, Q, B>, deps: RouteDeps) => Promise<void>;
}

/** Typed by its own schemas: the handler's `params`, `query` and `body` are what they parse to. */
export function defineRoute<
  P extends Shape = Shape,
  Q extends AnyZodObject = AnyZodObject,
  B extends ZodTypeAny = ZodTypeAny,
>(route: Route<P, Q, B>): Route {
  return route as unknown as Route;
}

/** Needs a bearer token: everything under /v1 that is not `open`. */
export const isSecured = (r: Route): boolean => r.path.startsWith('/v1/') && !r.open;

/** `/v1/orders/{id}` → `/v1/orders/:id`. */
export const expressPath = (path: string): string => path.replace(/\{([^}]+)\}/g, ':$1');

/**
 * Mounts routes on a router at `prefix` (the part of their path the router is mounted at):
 * idempotency, then the role check, then parsing (a ZodError is a 400 with where), then the handler.
 */
export function mountRoutes(
  router: Router,
  routes: readonly Route[],
  deps: RouteDeps,
  options: { prefix?: string; idempotency?: RequestHandler } = {},
): void {
  const prefix = options.prefix ?? '';
  for (const r of routes) {
    if (!r.path.startsWith(prefix)) throw new Error(`route ${r.id} is not under ${prefix}`);
    const chain: RequestHandler[] = [routeLabel(expressPath(r.path))];
    if (r.idempotent) {
      if (!options.idempotency) throw new Error(`route ${r.id} takes an Idempotency-Key; none given`);
      chain.push(options.idempotency);
    }
    // An allow-list: a role sees and does nothing on a route unless the route grants it.
    if (isSecured(r) && !r.allow?.length) throw new Error(`route ${r.id} grants no role (allow)`);
    if (r.allow) chain.push(requireRole(...r.allow));
    chain.push(
      catching(async (req, res) => {
        const params = Object.fromEntries(
          // Each named in a 400's `errors`, as a body's fields are.
          Object.entries(r.params ?? {}).map(([name, schema]) => [
            name,
            schema.parse(req.params[name], { path: [name] }),
          ]),
        );
        const query = r.query ? r.query.parse(req.query) : {};
        // A POST without a body is an empty one: its schema says whether that is enough.
        const body = r.body && !r.raw ? r.body.parse(req.body ?? {}) : undefined;
        await r.handle({ req, res, params, query, body, principal: () => principalOf(req) }, deps);
      }),
    );
    router[r.method](expressPath(r.path.slice(prefix.length)) || '/', ...chain);
  }
}
