/**
 * Exchanges (`POST /v1/orders/:id/exchanges`, then `/v1/exchanges/:id/...`): units sent back for
 * others in one request. Opening one is an Update on the order workflow (which prices and holds
 * the new units and starts the exchange's own workflow); the customer pays a difference and staff
 * act on that one.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/knex';
import {
  exchangeActions,
  exchangeMachine,
  isPendingPayment,
  type ExchangeRecord,
} from '../../domain/exchanges';
import { allowedActions, statusLabel } from '../../domain/machine';
import { mergedUnits } from '../../domain/order';
import { RefusedError, refusalWhenClosed } from '../../domain/refusals';
import type { Role } from '../../domain/roles';
import { loadExchange } from '../../services/orders/exchanges-store';
import { listExchanges } from '../../services/orders/list-reverse';
import type { ExchangeActionRequest } from '../../workflows/reverse/messages';
import type { Principal } from '../auth';
import { idFromKey, updateIdAfter, updateIdFromKey } from '../idempotency';
import { historyFor } from '../order-view';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import {
  exchangeActionBody,
  exchangeBody,
  exchangeIdParam,
  exchangePayBody,
  exchangeReceiveBody,
  claimShipBody,
  listExchangesQuery,
  listOrdersQueryProblems,
} from '../schemas';
import { EXCHANGE_LINKS } from './links';
import { actOn, ORDER_READERS, orderIdParams } from './orders';
import { visibleCase } from './reverse-flows';

export function exchangeView(record: ExchangeRecord, role: Role) {
  return {
    ...record,
    history: historyFor(record.history, role),
    statusLabel: statusLabel(exchangeMachine, record.status, role),
    allowedActions: exchangeActions(record, allowedActions(exchangeMachine, record.status, role)).filter(
      (a) => a !== 'settle_payment',
    ),
  };
}

const visibleExchange = async (db: Db, id: string, principal: Principal): Promise<ExchangeRecord> =>
  visibleCase(db, `exchange ${id}`, await loadExchange(db, id), principal);

const exchangeIdParams = { id: exchangeIdParam };

/** Exchanges are a customer's and staff's: someone else's is a 404, the exchange's machine answers the rest. */
const EXCHANGE_READERS: readonly Role[] = ['customer', 'merchant', 'support'];

const ACTIONS = {
  pay: {
    id: 'payExchange',
    path: 'pay',
    body: exchangePayBody,
    ok: [[200, 202], res.exchangePayAnswer],
    roles: 'owner',
    summary:
      'Pay the difference (as an order is paid: 200 paid, 202 while pending with what the customer must do, 402 declined)',
    errors: [402, 403, 404, 409, 422],
  },
  approve: {
    id: 'approveExchange',
    path: 'approve',
    body: exchangeActionBody,
    ok: [[200], res.exchangeEnvelope],
    roles: 'merchant, support',
    summary: 'Approve an exchange',
    errors: [403, 404, 409],
  },
  reject: {
    id: 'rejectExchange',
    path: 'reject',
    body: exchangeActionBody,
    ok: [[200], res.exchangeEnvelope],
    roles: 'merchant, support',
    summary: 'Reject an exchange: its held units go back, a paid difference is refunded',
    errors: [403, 404, 409],
  },
  receive: {
    id: 'receiveExchange',
    path: 'receive',
    body: exchangeReceiveBody,
    ok: [[200], res.exchangeEnvelope],
    roles: 'merchant, support',
    summary:
      'The returned goods are back (sellable restocked, damaged written off); a negative difference is refunded',
    errors: [403, 404, 409, 422],
  },
  ship: {
    id: 'shipExchange',
    path: 'ship',
    body: claimShipBody,
    ok: [[200], res.exchangeEnvelope],
    roles: 'merchant, support',
    summary: 'Ship the new units (once any difference is paid): sold, another parcel of the order',
    errors: [403, 404, 409, 422],
  },
  cancel: {
    id: 'cancelExchange',
    path: 'cancel',
    body: exchangeActionBody,
    ok: [[200], res.exchangeEnvelope],
    roles: 'owner, merchant, support',
    summary:
      'Cancel an exchange before anything moved: its held units go back, a paid difference is refunded',
    errors: [403, 404, 409],
  },
} as const;

export const exchangeRoutes: Route[] = [
  defineRoute({
    id: 'openExchange',
    allow: ORDER_READERS,
    method: 'post',
    path: '/v1/orders/{id}/exchanges',
    summary:
      'Exchange some delivered units for others: the new units are priced and held at once, the difference paid or refunded',
    roles: 'owner',
    params: orderIdParams,
    body: exchangeBody,
    ok: [[201], res.exchangeEnvelope],
    errors: [403, 404, 409, 422],
    idempotent: true,
    links: EXCHANGE_LINKS,
    async handle({ req, res: reply, params, body, principal }, deps) {
      const caller = principal();
      // The same Idempotency-Key (and caller and body) names the same exchange, never a second one.
      const exchangeId =
        idFromKey('exc', req, params.id, 'open_exchange') ?? `exc_${randomUUID().replace(/-/g, '')}`;
      const exchangeRequest = {
        exchangeId,
        // One line per SKU: a SKU named twice has its quantities added.
        returnItems: mergedUnits(body.returnItems),
        newItems: mergedUnits(body.newItems),
      };
      await actOn(
        deps,
        params.id,
        caller,
        { action: 'open_exchange', reason: body.reason, exchangeRequest },
        updateIdAfter(req, exchangeId),
      );
      const record = await loadExchange(deps.db, exchangeId);
      reply
        .status(201)
        .location(`/v1/exchanges/${exchangeId}`)
        .json({ exchange: exchangeView(record!, caller.role) });
    },
  }),
  defineRoute({
    id: 'listExchanges',
    allow: EXCHANGE_READERS,
    method: 'get',
    path: '/v1/exchanges',
    summary:
      'Exchanges, newest first (customers: their own), by order, customer, status and creation window, keyset-paginated',
    roles: 'any',
    query: listExchangesQuery,
    ok: [[200], res.exchangeList],
    errors: [400],
    async handle({ res: reply, query, principal }, { db }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      const caller = principal();
      const customerId = caller.role === 'customer' ? caller.id : query.customerId;
      const page = await listExchanges(db, { ...query, customerId, channel: caller.channel });
      reply.json({ items: page.items.map((e) => exchangeView(e, caller.role)), nextCursor: page.nextCursor });
    },
  }),
  defineRoute({
    id: 'getExchange',
    allow: EXCHANGE_READERS,
    method: 'get',
    path: '/v1/exchanges/{id}',
    summary: 'An exchange',
    roles: 'owner, merchant, support',
    params: exchangeIdParams,
    ok: [[200], res.exchangeEnvelope],
    errors: [400, 404],
    links: EXCHANGE_LINKS,
    async handle({ res: reply, params, principal }, { db }) {
      const caller = principal();
      reply.json({ exchange: exchangeView(await visibleExchange(db, params.id, caller), caller.role) });
    },
  }),
  ...(['pay', 'approve', 'reject', 'receive', 'ship', 'cancel'] as const).map((action) =>
    defineRoute({
      id: ACTIONS[action].id,
      method: 'post',
      path: `/v1/exchanges/{id}/${ACTIONS[action].path}`,
      summary: ACTIONS[action].summary,
      roles: ACTIONS[action].roles,
      allow: EXCHANGE_READERS,
      params: exchangeIdParams,
      body: ACTIONS[action].body,
      ok: [[...ACTIONS[action].ok[0]], ACTIONS[action].ok[1]],
      errors: [...ACTIONS[action].errors],
      idempotent: true,
      links: EXCHANGE_LINKS,
      async handle({ req, res: reply, params, body, principal }, { db, commands }) {
        const caller = principal();
        const record = await visibleExchange(db, params.id, caller);
        // A finished exchange's workflow has closed: the machine answers for it.
        const refusal = refusalWhenClosed(
          exchangeMachine,
          { kind: 'exchange', status: record.status },
          action,
          caller.role,
        );
        if (refusal) throw new RefusedError(refusal);
        const given = body as {
          reason?: string;
          paymentToken?: string;
          carrier?: string;
          trackingNumber?: string;
          items?: ExchangeActionRequest['received'];
        };
        const updated = await commands.actOnExchange(
          record.id,
          {
            action,
            actor: caller,
            ...(given.reason ? { reason: given.reason } : {}),
            ...(action === 'pay' ? { paymentToken: given.paymentToken! } : {}),
            ...(action === 'ship'
              ? { shipment: { carrier: given.carrier!, trackingNumber: given.trackingNumber! } }
              : {}),
            ...(action === 'receive' && given.items ? { received: given.items } : {}),
          },
          updateIdFromKey(req, record.id, action),
        );
        const view = exchangeView(updated, caller.role);
        // A payment the provider has not decided yet: accepted, not done; the answer says what is next.
        if (action === 'pay' && isPendingPayment(updated.payment))
          return void reply.status(202).json({ exchange: view, payment: updated.payment });
        reply.json({ exchange: view });
      },
    }),
  ),
];
