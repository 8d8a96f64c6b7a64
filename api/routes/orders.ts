/** Orders: created and acted on through the workflow; read from PostgreSQL. */
import type { ZodTypeAny } from 'zod';
import type { Db } from '../../db/knex';
import { createHash, randomUUID } from 'node:crypto';
import { ConflictError, DomainError, ForbiddenError, NotFoundError } from '../../domain/errors';
import { channelForOrder } from '../../services/channels/channels';
import { machineFor } from '../../domain/machines';
import type { Role } from '../../domain/roles';
import { isPending, resendable, type ActionRequest, type OrderState } from '../../domain/order';
import { RefusedError, refusalBeforeWorkflow } from '../../domain/refusals';
import { DEFAULT_CHANNEL, type Principal } from '../auth';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { describeError } from '../../db/errors';
import { exportInThread } from '../../services/orders/export-thread';
import { listOrders } from '../../services/orders/list-orders';
import { orderStats } from '../../services/orders/order-stats';
import { loadOrder, loadOrderHead } from '../../services/orders/read-order';
import { quoteOrder } from '../../services/orders/quote-order';
import { settleAction } from '../../services/orders/unsettled-actions';
import { idFromKey, updateIdFromKey } from '../idempotency';
import { orderView } from '../order-view';
import * as res from '../response-schemas';
import { defineRoute, type Route, type RouteDeps } from '../route';
import {
  cancelBody,
  createOrderBody,
  emptyBody,
  exportOrdersQuery,
  importOrderBody,
  listOrdersQuery,
  listOrdersQueryProblems,
  orderIdParam,
  orderStatsQuery,
  payBody,
  shipBody,
} from '../schemas';
import { ORDER_LINKS } from './links';

export const orderIdParams = { id: orderIdParam };

/** Whether the response can no longer reach its client: its connection closed, or it was ended. */
const gone = (reply: Response) => reply.destroyed || reply.writableEnded || reply.closed;

/** Until the response has room again, or its connection is gone (then 'drain' never comes). */
function drainedOrClosed(reply: Response): Promise<void> {
  return new Promise((resolve) => {
    // Closed already: 'close' came and went.
    if (gone(reply)) return resolve();
    const done = () => {
      reply.off('drain', done).off('close', done);
      resolve();
    };
    reply.once('drain', done).once('close', done);
  });
}

/**
 * Whether the caller may see an order: staff see every order; a channel, its channel's; a customer,
 * its own in its channel (a partner's `c1` is not the web shop's `c1`).
 */
export function maySee(order: Pick<OrderState, 'customerId' | 'channel'>, principal: Principal): boolean {
  const channel = order.channel ?? DEFAULT_CHANNEL;
  if (principal.role === 'channel') return channel === principal.channel;
  if (principal.role === 'customer')
    return order.customerId === principal.id && channel === principal.channel;
  return principal.role === 'merchant' || principal.role === 'support';
}

/**
 * The roles that may see some orders, so the order routes let them through: which order (someone
 * else's is a 404, never a 403) and which action (its machine's answer) are decided per order.
 */
export const ORDER_READERS: readonly Role[] = ['customer', 'merchant', 'support', 'channel'];

/** An imported order's id, from its channel and its id there: the same order imported twice is one workflow. */
export function importedOrderId(channel: string, externalId: string): string {
  return `ord_${createHash('sha256').update(`import\n${channel}\n${externalId}`).digest('hex').slice(0, 32)}`;
}

/** The order, if the caller may see it: someone else's order is a 404, never a 403. */
export async function visibleOrder(db: Db, id: string, principal: Principal): Promise<OrderState> {
  return seen(await loadOrder(db, id), id, principal);
}

function seen<T extends Pick<OrderState, 'customerId' | 'channel'>>(
  order: T | null,
  id: string,
  principal: Principal,
): T {
  if (!order || !maySee(order, principal)) throw new NotFoundError(`order ${id}`);
  return order;
}

/**
 * Refused here when the machine alone can tell: a role that never may take the action, or an order
 * whose workflow has closed (it takes no Updates). Otherwise the workflow decides.
 */
export function refuseBeforeWorkflow(
  order: Pick<OrderState, 'type' | 'status'>,
  action: string,
  principal: Principal,
): void {
  const refusal = refusalBeforeWorkflow(
    machineFor(order.type),
    { kind: 'order', type: order.type, status: order.status },
    action,
    principal.role,
  );
  if (refusal) throw new RefusedError(refusal);
}

/** An action on an order the caller can see, refused here if its workflow has closed; otherwise the workflow decides. */
export async function actOn(
  { db, commands }: RouteDeps,
  id: string,
  caller: Principal,
  request: Omit<ActionRequest, 'actor'>,
  /** The same id twice is one Update; none: a new one. */
  updateId: string | undefined,
): Promise<OrderState> {
  // Its head only: the workflow answers with the whole order.
  const order = seen(await loadOrderHead(db, id), id, caller);
  refuseBeforeWorkflow(order, request.action, caller);
  const action: ActionRequest = { ...request, actor: caller };
  if (!resendable(action)) return commands.act(order, action, updateId);
  // Answered: the task that wrote its transition is stored, so its row (kept in case the workflow
  // lost it) goes, unawaited. A row left (a refusal, an outage, this delete failing) the worker
  // looks at later, and forgets if the workflow holds the transition.
  const sent = updateId ?? randomUUID();
  const done = await commands.act(order, action, sent);
  void settleAction(db, id, sent).catch(() => undefined);
  return done;
}

/** One route per action: the body schema shapes the request, the workflow's machine decides. */
function actionRoute<B extends ZodTypeAny>(spec: {
  action: string;
  /** The answer's statuses and body, when not just 200 with the order. */
  ok?: [number[], ZodTypeAny];
  id: string;
  summary: string;
  roles: string;
  body: B;
  errors: number[];
  request: (body: ReturnType<B['parse']>) => Partial<ActionRequest>;
}): Route {
  return defineRoute({
    id: spec.id,
    method: 'post',
    path: `/v1/orders/{id}/${spec.action}`,
    summary: spec.summary,
    roles: spec.roles,
    // The order's machine decides who may take the action, once the order is one the caller may see.
    allow: ORDER_READERS,
    params: orderIdParams,
    body: spec.body,
    ok: spec.ok ?? [[200], res.orderEnvelope],
    errors: spec.errors,
    idempotent: true,
    links: ORDER_LINKS,
    async handle({ req, res: reply, params, body, principal }, deps) {
      const caller = principal();
      const updated = await actOn(
        deps,
        params.id,
        caller,
        { action: spec.action, ...spec.request(body) },
        updateIdFromKey(req, params.id, spec.action),
      );
      // A payment the provider has not decided yet: accepted, not done; the answer says what is next.
      const pending = spec.action === 'pay' ? (updated.payments ?? []).find(isPending) : undefined;
      if (pending)
        return void reply.status(202).json({ order: orderView(updated, caller.role), payment: pending });
      reply.status(200).json({ order: orderView(updated, caller.role) });
    },
  });
}

export const orderRoutes: Route[] = [
  defineRoute({
    id: 'createOrder',
    method: 'post',
    path: '/v1/orders',
    summary:
      'Place an order (priced, stock and coupon checked before the 201): a customer for itself, a channel for one of its customers (`customerId`)',
    roles: 'customer, channel',
    allow: ['customer', 'channel'],
    body: createOrderBody,
    ok: [[201], res.orderEnvelope],
    errors: [400, 403, 409, 422],
    idempotent: true,
    links: ORDER_LINKS,
    async handle({ req, res: reply, body, principal }, { db, commands }) {
      const caller = principal();
      const { customerId: forCustomer, ...order_ } = body;
      if (caller.role === 'channel' && !forCustomer)
        throw new DomainError('customerId is required: a channel orders for one of its customers', 400);
      if (caller.role === 'customer' && forCustomer && forCustomer !== caller.id)
        throw new ForbiddenError('a customer orders for itself');
      const customerId = caller.role === 'channel' ? forCustomer! : caller.id;
      // PostgreSQL must answer before anything starts: an outage is a 503 with nothing half-written.
      const channel = await channelForOrder(db, caller.channel ?? DEFAULT_CHANNEL, body.type);
      // The quote is only for the workflow's summary in the Web UI; placement prices the order.
      const quote = await quoteOrder(db, { ...order_, customerId, channel: channel.id });
      // A retried create (same Idempotency-Key) names the same order: the workflow id dedupes it too.
      const orderId = idFromKey('ord', req, 'orders', 'create');
      const order = await commands.create({
        ...order_,
        customerId,
        channel: channel.id,
        ...(channel.paymentTimeoutMs ? { paymentTimeoutMs: channel.paymentTimeoutMs } : {}),
        requestId: String(req.id),
        orderId,
        quote,
      });
      reply
        .status(201)
        .location(`/v1/orders/${order.id}`)
        .json({ order: orderView(order, caller.role) });
    },
  }),
  defineRoute({
    id: 'importOrder',
    method: 'post',
    path: '/v1/orders/import',
    summary:
      'Import an order placed (and paid) in another order system, as its source left it: one order per (channel, externalId); the same request again answers 200 with it, other contents 409',
    roles: 'channel (its own), merchant',
    allow: ['channel', 'merchant'],
    body: importOrderBody,
    ok: [[200, 201], res.orderEnvelope],
    errors: [400, 403, 409, 422],
    idempotent: true,
    links: ORDER_LINKS,
    async handle({ req, res: reply, body, principal }, { db, commands }) {
      const caller = principal();
      if (caller.role === 'channel' && body.channel !== caller.channel)
        throw new ForbiddenError('a channel imports its own orders only');
      // Registered, and allowed to bring orders of type `external` (a channel's `orderTypes`).
      const channel = await channelForOrder(db, body.channel, 'external');
      const orderId = importedOrderId(channel.id, body.externalId);
      const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex');
      const before = await loadOrder(db, orderId);
      const order =
        before ??
        (await commands.importOrder({
          orderId,
          customerId: body.customerId,
          channel: channel.id,
          ...(body.shippingAddress ? { shippingAddress: body.shippingAddress } : {}),
          requestId: String(req.id),
          ...(body.currency ? { currency: body.currency } : {}),
          imported: {
            externalId: body.externalId,
            status: body.status,
            placedAt: body.placedAt,
            lines: body.items,
            amounts: body.amounts,
            ...(body.currency ? { currency: body.currency } : {}),
            ...(body.paymentReference ? { paymentReference: body.paymentReference } : {}),
            ...(body.shipment ? { shipment: body.shipment } : {}),
            by: `${caller.role}:${caller.id}`,
            digest,
          },
        }));
      // The same order sent again is answered with it; other contents under its id are refused.
      if (order.imported?.digest !== digest)
        throw new ConflictError('this order was imported before with other contents', {
          code: 'IMPORT_CONFLICT',
          orderId,
        });
      reply
        .status(before ? 200 : 201)
        .location(`/v1/orders/${order.id}`)
        .json({ order: orderView(order, caller.role) });
    },
  }),
  defineRoute({
    id: 'listOrders',
    method: 'get',
    path: '/v1/orders',
    summary:
      'List orders (customers: their own; channels: their channel’s): filters by status, type, customer, channel, creation window, SKU, total (in one currency) and `q` (an order id’s beginning, a customer id, a tracking number); sorted by creation (newest first by default) or total, keyset-paginated',
    roles: 'customer, merchant, support, channel',
    allow: ORDER_READERS,
    query: listOrdersQuery,
    ok: [[200], res.orderList],
    errors: [400],
    async handle({ res: reply, query, principal }, { db }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      const caller = principal();
      // Customers list their own orders only, channels their channel's, whatever they ask for.
      const customerId = caller.role === 'customer' ? caller.id : query.customerId;
      const channel = caller.channel ?? query.channel;
      const page = await listOrders(db, { ...query, customerId, ...(channel ? { channel } : {}) });
      reply.json({ items: page.items.map((o) => orderView(o, caller.role)), nextCursor: page.nextCursor });
    },
  }),
  // Before `/v1/orders/{id}`, which would take `stats` and `export` for an order id.
  defineRoute({
    id: 'orderStats',
    method: 'get',
    path: '/v1/orders/stats',
    summary:
      'Counts and sums of orders placed in a window (createdFrom inclusive, createdTo exclusive), per status, type, channel, payment status or UTC day, and currency',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    query: orderStatsQuery,
    ok: [[200], res.orderStats],
    errors: [400, 403],
    async handle({ res: reply, query }, { db }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      reply.json({ groupBy: query.groupBy, groups: await orderStats(db, query) });
    },
  }),
  defineRoute({
    id: 'exportOrders',
    method: 'get',
    path: '/v1/orders/export',
    summary:
      'The order list as CSV (the list’s filters and sorts; `rows=order` or `line`), streamed whatever its size; cells a spreadsheet would run as a formula are escaped',
    roles: 'merchant, support',
    allow: ['merchant', 'support'],
    query: exportOrdersQuery,
    ok: [[200], res.csv],
    produces: 'text/csv',
    errors: [400, 403, 429],
    async handle({ req, res: reply, query }, { config }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      const { rows, ...filters } = query;
      const chunks = exportInThread({
        databaseUrl: config.DATABASE_URL!,
        queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT,
        filters,
        rows,
      });
      // The header and the first batch are read before the status is sent: a failure then is
      // still a clean 503.
      const header = await chunks.next();
      const first = header.done ? header : await chunks.next();
      // A client gone meanwhile frees its thread and its place among the exports at once.
      if (gone(reply)) return void (await chunks.return(undefined));
      reply
        .status(200)
        .type('text/csv; charset=utf-8')
        .setHeader('content-disposition', `attachment; filename="orders-${rows}s.csv"`);
      if (!header.done) reply.write(header.value);
      if (!first.done) reply.write(first.value);
      try {
        for await (const chunk of chunks) {
          if (gone(reply)) break;
          // Flat memory: wait for the client to take a chunk (or go) before reading the next batch.
          if (!reply.write(chunk)) await drainedOrClosed(reply);
        }
      } catch (err) {
        // Headers are gone: the cut-off body is the only way left to say it failed. Logged as
        // the error middleware logs one: never the error's message (knex writes SQL into it).
        (req as typeof req & { log?: Logger }).log?.error({ err: describeError(err) }, 'export cut off');
        reply.destroy();
        return;
      }
      reply.end();
    },
  }),
  defineRoute({
    id: 'getOrder',
    method: 'get',
    path: '/v1/orders/{id}',
    summary: 'An order, as the caller’s role sees it',
    roles: 'owner, its channel, merchant, support',
    allow: ORDER_READERS,
    params: orderIdParams,
    ok: [[200], res.orderEnvelope],
    errors: [400, 404],
    links: ORDER_LINKS,
    async handle({ res: reply, params, principal }, { db }) {
      const caller = principal();
      reply.json({ order: orderView(await visibleOrder(db, params.id, caller), caller.role) });
    },
  }),
  actionRoute({
    action: 'pay',
    id: 'payOrder',
    ok: [[200, 202], res.payAnswer],
    summary:
      'Pay (sandbox tokens: tok_ok, tok_declined, tok_insufficient_funds, tok_flaky, tok_lost, tok_slow)',
    roles: 'owner',
    body: payBody,
    errors: [402, 403, 404, 409, 422],
    request: (b) => ({ paymentToken: b.paymentToken }),
  }),
  actionRoute({
    action: 'ship',
    id: 'shipOrder',
    summary: 'Ship: these units as one parcel (`items`), or everything left to ship',
    roles: 'merchant',
    body: shipBody,
    errors: [403, 404, 409, 422],
    request: (b) => ({ shipment: b }),
  }),
  actionRoute({
    action: 'confirm',
    id: 'confirmOrder',
    summary: 'Confirm receipt',
    roles: 'owner',
    body: emptyBody,
    errors: [403, 404, 409],
    request: () => ({}),
  }),
  actionRoute({
    action: 'approve',
    id: 'approveOrder',
    summary: 'Approve an order held for review: production starts',
    roles: 'merchant, support',
    body: emptyBody,
    errors: [403, 404, 409],
    request: () => ({}),
  }),
  actionRoute({
    action: 'reject',
    id: 'rejectOrder',
    summary: 'Reject an order held for review: it is cancelled and everything paid refunded',
    roles: 'merchant, support',
    body: cancelBody,
    errors: [403, 404, 409],
    request: (b) => ({ reason: b.reason ?? 'rejected' }),
  }),
  actionRoute({
    action: 'cancel',
    id: 'cancelOrder',
    summary: 'Cancel (refunds what was paid)',
    roles: 'owner until shipped, merchant, support',
    body: cancelBody,
    errors: [403, 404, 409],
    request: (b) => ({ reason: b.reason ?? 'cancelled' }),
  }),
];
