/**
 * Reverse flows on an order: refunds (`POST /v1/orders/:id/refunds`), returns
 * (`POST /v1/orders/:id/returns`, then `/v1/returns/:id/...`) and modification (`PATCH /v1/orders/:id`).
 * Each is an Update on the order workflow, which runs it as its own child workflow.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { mergedUnits } from '../../domain/order';
import { allowedActions, statusLabel } from '../../domain/machine';
import { RefusedError, refusalWhenClosed } from '../../domain/refusals';
import { returnMachine, type ReceivedUnits } from '../../domain/returns';
import type { Role } from '../../domain/roles';
import { listRefunds, listReturns, returnStats } from '../../services/orders/list-reverse';
import { loadRefund, loadReturn, type ReturnRecord } from '../../services/orders/returns-store';
import type { Principal } from '../auth';
import { idFromKey, updateIdAfter, updateIdFromKey } from '../idempotency';
import { historyFor, orderView } from '../order-view';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import {
  listRefundsQuery,
  listReturnsQuery,
  listOrdersQueryProblems,
  patchOrderBody,
  refundBody,
  returnActionBody,
  returnBody,
  returnIdParam,
  returnReceiveBody,
  returnStatsQuery,
} from '../schemas';
import { ORDER_LINKS, RETURN_LINKS } from './links';
import { actOn, maySee, ORDER_READERS, orderIdParams } from './orders';
import { loadOrder } from '../../services/orders/read-order';

/** The same Idempotency-Key (and caller and body) names the same refund or return, never a second one. */
const derivedId = (prefix: string, req: Request, orderId: string, action: string) =>
  idFromKey(prefix, req, orderId, action) ?? `${prefix}_${randomUUID().replace(/-/g, '')}`;

export function returnView(record: ReturnRecord, role: Role) {
  return {
    ...record,
    // The workflow's own record says none when the customer gave none: the list's `other`.
    reasonCode: record.reasonCode ?? 'other',
    history: historyFor(record.history, role),
    statusLabel: statusLabel(returnMachine, record.status, role),
    allowedActions: allowedActions(returnMachine, record.status, role),
  };
}

/** A return or claim the caller may see (a customer: of their own order), or a 404 naming it. */
export async function visibleCase<R extends { orderId: string }>(
  db: Db,
  what: string,
  record: R | null,
  principal: Principal,
): Promise<R> {
  const order = record && principal.role === 'customer' ? await loadOrder(db, record.orderId) : null;
  if (!record || (principal.role === 'customer' && (!order || !maySee(order, principal))))
    throw new NotFoundError(what);
  return record;
}

const visibleReturn = async (db: Db, id: string, principal: Principal): Promise<ReturnRecord> =>
  visibleCase(db, `return ${id}`, await loadReturn(db, id), principal);

const returnIdParams = { id: returnIdParam };

/** Returns are a customer's and staff's: a customer's someone else's is a 404, its machine answers the rest. */
const RETURN_READERS: readonly Role[] = ['customer', 'merchant', 'support'];

export const reverseFlowRoutes: Route[] = [
  defineRoute({
    id: 'modifyOrder',
    allow: ORDER_READERS,
    method: 'patch',
    path: '/v1/orders/{id}',
    summary: 'Change the address (until shipped) or lower quantities (before payment)',
    roles: 'owner, merchant, support',
    params: orderIdParams,
    body: patchOrderBody,
    ok: [[200], res.orderEnvelope],
    errors: [403, 404, 409, 422],
    idempotent: true,
    links: ORDER_LINKS,
    async handle({ req, res: reply, params, body, principal }, deps) {
      const caller = principal();
      const updated = await actOn(
        deps,
        params.id,
        caller,
        { action: 'modify', modification: body },
        updateIdFromKey(req, params.id, 'modify'),
      );
      reply.json({ order: orderView(updated, caller.role) });
    },
  }),
  defineRoute({
    id: 'refundOrder',
    allow: ORDER_READERS,
    method: 'post',
    path: '/v1/orders/{id}/refunds',
    summary:
      'Refund some units, all that is left, or (goodwill, staff) an amount without units, allocated to the lines',
    roles: 'merchant, support',
    params: orderIdParams,
    body: refundBody,
    ok: [[201], res.refund],
    errors: [403, 404, 409, 422],
    idempotent: true,
    async handle({ req, res: reply, params, body, principal }, deps) {
      const refundId = derivedId('ref', req, params.id, 'refund');
      const refund = {
        refundId,
        ...('items' in body && body.items ? { items: body.items } : {}),
        ...('amount' in body ? { amount: body.amount } : {}),
      };
      await actOn(
        deps,
        params.id,
        principal(),
        { action: 'refund', reason: body.reason, refund },
        updateIdAfter(req, refundId),
      );
      reply.status(201).json({ refund: await loadRefund(deps.db, refundId) });
    },
  }),
  defineRoute({
    id: 'requestReturn',
    allow: ORDER_READERS,
    method: 'post',
    path: '/v1/orders/{id}/returns',
    summary: 'Request a return (within the after-sales window)',
    roles: 'owner',
    params: orderIdParams,
    body: returnBody,
    ok: [[201], res.returnEnvelope],
    errors: [403, 404, 409, 422],
    idempotent: true,
    links: RETURN_LINKS,
    async handle({ req, res: reply, params, body, principal }, deps) {
      const caller = principal();
      const returnId = derivedId('ret', req, params.id, 'request_return');
      const returnRequest = {
        returnId,
        // One line per SKU, as the ledger counts them (claims and exchanges do the same).
        items: mergedUnits(body.items),
        ...(body.reasonCode ? { reasonCode: body.reasonCode } : {}),
      };
      await actOn(
        deps,
        params.id,
        caller,
        { action: 'request_return', reason: body.reason, returnRequest },
        updateIdAfter(req, returnId),
      );
      const record = await loadReturn(deps.db, returnId);
      reply
        .status(201)
        .location(`/v1/returns/${returnId}`)
        .json({ return: returnView(record!, caller.role) });
    },
  }),
  defineRoute({
    id: 'listRefunds',
    allow: RETURN_READERS,
    method: 'get',
    path: '/v1/refunds',
    summary:
      'Refunds, newest first (customers: of their own orders), by order, source and creation window, keyset-paginated',
    roles: 'any',
    query: listRefundsQuery,
    ok: [[200], res.refundList],
    errors: [400],
    async handle({ res: reply, query, principal }, { db }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      const caller = principal();
      const customerId = caller.role === 'customer' ? caller.id : undefined;
      reply.json(await listRefunds(db, { ...query, customerId, channel: caller.channel }));
    },
  }),
  defineRoute({
    id: 'listReturns',
    allow: RETURN_READERS,
    method: 'get',
    path: '/v1/returns',
    summary:
      'Returns, newest first (customers: their own), by order, customer, status and creation window, keyset-paginated',
    roles: 'any',
    query: listReturnsQuery,
    ok: [[200], res.returnList],
    errors: [400],
    async handle({ res: reply, query, principal }, { db }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      const caller = principal();
      const customerId = caller.role === 'customer' ? caller.id : query.customerId;
      const page = await listReturns(db, { ...query, customerId, channel: caller.channel });
      reply.json({ items: page.items.map((r) => returnView(r, caller.role)), nextCursor: page.nextCursor });
    },
  }),
  // Before `/v1/returns/{id}`, which would take `stats` for a return id.
  defineRoute({
    id: 'returnStats',
    allow: ['merchant', 'support'],
    method: 'get',
    path: '/v1/returns/stats',
    summary:
      'Returns placed in a window (createdFrom inclusive, createdTo exclusive) per reason and currency: how many, units, refunded, closed without a refund',
    roles: 'merchant, support',
    query: returnStatsQuery,
    ok: [[200], res.returnStats],
    errors: [400, 403],
    async handle({ res: reply, query }, { db }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      reply.json({ groups: await returnStats(db, query) });
    },
  }),
  defineRoute({
    id: 'getReturn',
    allow: RETURN_READERS,
    method: 'get',
    path: '/v1/returns/{id}',
    summary: 'A return',
    roles: 'owner, merchant, support',
    params: returnIdParams,
    ok: [[200], res.returnEnvelope],
    errors: [400, 404],
    async handle({ res: reply, params, principal }, { db }) {
      const caller = principal();
      reply.json({ return: returnView(await visibleReturn(db, params.id, caller), caller.role) });
    },
  }),
  ...(['approve', 'reject', 'receive'] as const).map((action) =>
    defineRoute({
      id: `${action}Return`,
      method: 'post',
      path: `/v1/returns/{id}/${action}`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} a return`,
      roles: 'merchant, support',
      allow: RETURN_READERS,
      params: returnIdParams,
      body: action === 'receive' ? returnReceiveBody : returnActionBody,
      ok: [[200], res.returnEnvelope],
      errors: action === 'receive' ? [403, 404, 409, 422] : [403, 404, 409],
      idempotent: true,
      async handle({ req, res: reply, params, body, principal }, { db, commands }) {
        const caller = principal();
        const record = await visibleReturn(db, params.id, caller);
        // A finished return's workflow has closed: the machine answers for it.
        const refusal = refusalWhenClosed(
          returnMachine,
          { kind: 'return', status: record.status },
          action,
          caller.role,
        );
        if (refusal) throw new RefusedError(refusal);
        const received = (body as { items?: ReceivedUnits[] }).items;
        const updated = await commands.actOnReturn(
          record.id,
          { action, actor: caller, reason: body.reason, ...(received ? { received } : {}) },
          updateIdFromKey(req, record.id, action),
        );
        reply.json({ return: returnView(updated, caller.role) });
      },
    }),
  ),
];
