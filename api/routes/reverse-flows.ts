/**
 * Reverse flows on an order: refunds (`POST /v1/orders/:id/refunds`), returns
 * (`POST /v1/orders/:id/returns`, then `/v1/returns/:id/...`) and modification (`PATCH /v1/orders/:id`).
 * Each is an Update on the order workflow, which runs it as its own child workflow.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Db } from '../../db/knex';
import { ForbiddenError, IllegalTransitionError, NotFoundError } from '../../domain/errors';
import { allowedActions, decide, isTerminal, statusLabel } from '../../domain/machine';
import { returnMachine } from '../../domain/returns';
import type { Role } from '../../domain/roles';
import { loadReturn, type ReturnRecord } from '../../services/orders/returns-store';
import { principalOf } from '../auth';
import { idFromKey, updateIdFromKey } from '../idempotency';
import type { OrderCommands } from '../order-commands';
import { historyFor, orderView } from '../order-view';
import { route } from '../problem';
import { patchOrderBody, refundBody, returnActionBody, returnBody, returnIdParam } from '../schemas';
import { refuseIfFinished, visibleOrder } from './orders';

/** The same Idempotency-Key (and caller and body) names the same refund or return, never a second one. */
const derivedId = (prefix: string, req: Request, orderId: string, action: string) =>
  idFromKey(prefix, req, orderId, action) ?? `${prefix}_${randomUUID().replace(/-/g, '')}`;

export function returnView(record: ReturnRecord, role: Role) {
  return {
    ...record,
    history: historyFor(record.history, role),
    statusLabel: statusLabel(returnMachine, record.status, role),
    allowedActions: allowedActions(returnMachine, record.status, role),
  };
}

async function visibleReturn(db: Db, req: Request): Promise<ReturnRecord> {
  const id = returnIdParam.parse(req.params.id);
  const principal = principalOf(req);
  const record = await loadReturn(db, id);
  if (!record || (principal.role === 'customer' && record.customerId !== principal.id))
    throw new NotFoundError(`return ${id}`);
  return record;
}

export function reverseFlowRoutes(db: Db, commands: OrderCommands): { orders: Router; returns: Router } {
  const orders = Router();
  const returns = Router();

  orders.post(
    '/:id/refunds',
    route(async (req, res) => {
      const body = refundBody.parse(req.body);
      const order = await visibleOrder(db, req);
      const principal = principalOf(req);
      refuseIfFinished(order, 'refund', principal.role);
      const refundId = derivedId('ref', req, order.id, 'refund');
      await commands.act(
        order,
        { action: 'refund', actor: principal, reason: body.reason, refund: { refundId, items: body.items } },
        refundId,
      );
      const row = await db('order_refunds').where('id', refundId).first();
      res.status(201).json({
        refund: {
          id: row.id,
          orderId: row.order_id,
          items: row.items,
          shipping: row.shipping,
          amount: row.amount,
          reason: row.reason,
          createdAt: new Date(row.created_at).toISOString(),
        },
      });
    }),
  );

  orders.post(
    '/:id/returns',
    route(async (req, res) => {
      const body = returnBody.parse(req.body);
      const order = await visibleOrder(db, req);
      const principal = principalOf(req);
      refuseIfFinished(order, 'request_return', principal.role);
      const returnId = derivedId('ret', req, order.id, 'request_return');
      await commands.act(
        order,
        {
          action: 'request_return',
          actor: principal,
          reason: body.reason,
          returnRequest: { returnId, items: body.items },
        },
        returnId,
      );
      const record = await loadReturn(db, returnId);
      res
        .status(201)
        .location(`/v1/returns/${returnId}`)
        .json({ return: returnView(record!, principal.role) });
    }),
  );

  orders.patch(
    '/:id',
    route(async (req, res) => {
      const body = patchOrderBody.parse(req.body);
      const order = await visibleOrder(db, req);
      const principal = principalOf(req);
      refuseIfFinished(order, 'modify', principal.role);
      const updated = await commands.act(
        order,
        { action: 'modify', actor: principal, modification: body },
        updateIdFromKey(req, order.id, 'modify'),
      );
      res.json({ order: orderView(updated, principal.role) });
    }),
  );

  returns.get(
    '/:id',
    route(async (req, res) => {
      res.json({ return: returnView(await visibleReturn(db, req), principalOf(req).role) });
    }),
  );

  for (const action of ['approve', 'reject', 'receive'] as const) {
    returns.post(
      `/:id/${action}`,
      route(async (req, res) => {
        const body = returnActionBody.parse(req.body ?? {});
        const record = await visibleReturn(db, req);
        const principal = principalOf(req);
        // A finished return's workflow has closed: the machine answers for it.
        if (isTerminal(returnMachine, record.status)) {
          const decision = decide(returnMachine, record.status, action, principal.role);
          if (!decision.ok && decision.reason === 'forbidden')
            throw new ForbiddenError(`a ${principal.role} may not ${action} a return`);
          throw new IllegalTransitionError(
            `cannot ${action} a return that is ${record.status}`,
            record.status,
            [],
          );
        }
        const updated = await commands.actOnReturn(
          record.id,
          { action, actor: principal, reason: body.reason },
          updateIdFromKey(req, record.id, action),
        );
        res.json({ return: returnView(updated, principal.role) });
      }),
    );
  }

  return { orders, returns };
}
