/** Orders: created and acted on through the workflow; read from PostgreSQL. */
import { Router, type Request } from 'express';
import type { Db } from '../../db/knex';
import { ForbiddenError, IllegalTransitionError, NotFoundError } from '../../domain/errors';
import { decide, isTerminal } from '../../domain/machine';
import { machineFor } from '../../domain/machines';
import type { ActionRequest, OrderState } from '../../domain/order';
import type { Role } from '../../domain/roles';
import { loadOrder } from '../../services/orders/read-order';
import { listOrders } from '../../services/orders/list-orders';
import { quoteOrder } from '../../services/orders/quote-order';
import { principalOf, requireRole } from '../auth';
import { idFromKey, updateIdFromKey } from '../idempotency';
import type { OrderCommands } from '../order-commands';
import { orderView } from '../order-view';
import { route } from '../problem';
import {
  cancelBody,
  createOrderBody,
  emptyBody,
  listOrdersQuery,
  orderIdParam,
  payBody,
  shipBody,
} from '../schemas';

/** The order, if the caller may see it: a customer's view of someone else's order is a 404, never a 403. */
export async function visibleOrder(db: Db, req: Request): Promise<OrderState> {
  const id = orderIdParam.parse(req.params.id);
  const principal = principalOf(req);
  const order = await loadOrder(db, id);
  if (!order || (principal.role === 'customer' && order.customerId !== principal.id))
    throw new NotFoundError(`order ${id}`);
  return order;
}

/**
 * A finished order's workflow has closed and takes no Updates; the machine answers for it, as the
 * workflow's validator would have.
 */
export function refuseIfFinished(order: OrderState, action: string, role: Role): void {
  const machine = machineFor(order.type);
  if (!isTerminal(machine, order.status)) return;
  const decision = decide(machine, order.status, action, role);
  if (decision.ok) return;
  if (decision.reason === 'forbidden')
    throw new ForbiddenError(`a ${role} may not ${action} a ${order.type} order`);
  throw new IllegalTransitionError(
    `cannot ${action} an order that is ${order.status}`,
    order.status,
    decision.allowedActions,
  );
}

export function orderRoutes(db: Db, commands: OrderCommands): Router {
  const router = Router();

  router.post(
    '/',
    requireRole('customer'),
    route(async (req, res) => {
      const body = createOrderBody.parse(req.body);
      const principal = principalOf(req);
      // PostgreSQL must answer before anything starts: an outage is a 503 with nothing half-written.
      // The quote is only for the workflow's summary in the Web UI; placement prices the order.
      const quote = await quoteOrder(db, { ...body, customerId: principal.id });
      // A retried create (same Idempotency-Key) names the same order: the workflow id dedupes it too.
      const orderId = idFromKey('ord', req, 'orders', 'create');
      const order = await commands.create({
        ...body,
        customerId: principal.id,
        requestId: String(req.id),
        orderId,
        quote,
      });
      res
        .status(201)
        .location(`/v1/orders/${order.id}`)
        .json({ order: orderView(order, principal.role) });
    }),
  );

  router.get(
    '/',
    route(async (req, res) => {
      const query = listOrdersQuery.parse(req.query);
      const principal = principalOf(req);
      // Customers list their own orders only, whatever customerId they ask for.
      const customerId = principal.role === 'customer' ? principal.id : query.customerId;
      const page = await listOrders(db, { ...query, customerId });
      res.json({ items: page.items.map((o) => orderView(o, principal.role)), nextCursor: page.nextCursor });
    }),
  );

  router.get(
    '/:id',
    route(async (req, res) => {
      const order = await visibleOrder(db, req);
      res.json({ order: orderView(order, principalOf(req).role) });
    }),
  );

  /** One route per action; the body schema shapes the request, the workflow's machine decides. */
  const action = (name: string, toRequest: (body: unknown) => Partial<ActionRequest>) =>
    route(async (req, res) => {
      const extra = toRequest(req.body ?? {});
      const order = await visibleOrder(db, req);
      const principal = principalOf(req);
      refuseIfFinished(order, name, principal.role);
      const updated = await commands.act(
        order,
        { action: name, actor: principal, ...extra },
        updateIdFromKey(req, order.id, name),
      );
      res.status(200).json({ order: orderView(updated, principal.role) });
    });

  router.post(
    '/:id/pay',
    action('pay', (b) => ({ paymentToken: payBody.parse(b).paymentToken })),
  );
  router.post(
    '/:id/ship',
    action('ship', (b) => ({ shipment: shipBody.parse(b) })),
  );
  router.post(
    '/:id/confirm',
    action('confirm', (b) => (emptyBody.parse(b), {})),
  );
  router.post(
    '/:id/cancel',
    action('cancel', (b) => ({ reason: cancelBody.parse(b).reason ?? 'cancelled' })),
  );

  return router;
}
