/**
 * Claims (`POST /v1/orders/:id/claims`, then `/v1/claims/:id/...`): goods damaged, missing or
 * wrong, settled by a refund or a replacement with nothing sent back. Opening one is an Update on
 * the order workflow, which starts the claim's own workflow; staff act on that one.
 */
import type { Db } from '../../db/knex';
import { claimActions, claimMachine, type ClaimRecord } from '../../domain/claims';
import { mergedUnits } from '../../domain/order';
import { allowedActions, statusLabel } from '../../domain/machine';
import { RefusedError, refusalWhenClosed } from '../../domain/refusals';
import type { Role } from '../../domain/roles';
import { loadClaim } from '../../services/orders/claims-store';
import { listClaims } from '../../services/orders/list-reverse';
import type { Principal } from '../auth';
import { idFromKey, updateIdAfter, updateIdFromKey } from '../idempotency';
import { historyFor } from '../order-view';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import {
  claimApproveBody,
  claimBody,
  claimIdParam,
  claimRejectBody,
  claimShipBody,
  listClaimsQuery,
  listOrdersQueryProblems,
} from '../schemas';
import { CLAIM_LINKS } from './links';
import { actOn, ORDER_READERS, orderIdParams } from './orders';
import { visibleCase } from './reverse-flows';
import { randomUUID } from 'node:crypto';

export function claimView(record: ClaimRecord, role: Role) {
  return {
    ...record,
    history: historyFor(record.history, role),
    statusLabel: statusLabel(claimMachine, record.status, role),
    allowedActions: claimActions(record, allowedActions(claimMachine, record.status, role)),
  };
}

const visibleClaim = async (db: Db, id: string, principal: Principal): Promise<ClaimRecord> =>
  visibleCase(db, `claim ${id}`, await loadClaim(db, id), principal);

const claimIdParams = { id: claimIdParam };

/** Claims are a customer's and staff's: someone else's is a 404, the claim's machine answers the rest. */
const CLAIM_READERS: readonly Role[] = ['customer', 'merchant', 'support'];

const ACTIONS = {
  approve: {
    id: 'approveClaim',
    path: 'approve',
    body: claimApproveBody,
    summary: 'Approve a claim: refund its units, or (resolution replace) hold replacement units from stock',
    errors: [403, 404, 409, 422],
  },
  reject: {
    id: 'rejectClaim',
    path: 'reject',
    body: claimRejectBody,
    summary: 'Reject a claim',
    errors: [403, 404, 409],
  },
  ship: {
    id: 'shipClaim',
    path: 'ship',
    body: claimShipBody,
    summary: 'Ship a claim’s replacement: its held units are sold, the parcel recorded',
    errors: [403, 404, 409, 422],
  },
  refund_instead: {
    id: 'refundClaimInstead',
    path: 'refund-instead',
    body: claimRejectBody,
    summary: 'A replacement that will not ship: its held units go back, and the claimed units are refunded',
    errors: [403, 404, 409, 422],
  },
} as const;

export const claimRoutes: Route[] = [
  defineRoute({
    id: 'openClaim',
    allow: ORDER_READERS,
    method: 'post',
    path: '/v1/orders/{id}/claims',
    summary:
      'Claim for units that arrived damaged, went missing or were the wrong item: a refund or a replacement',
    roles: 'owner',
    params: orderIdParams,
    body: claimBody,
    ok: [[201], res.claimEnvelope],
    errors: [403, 404, 409, 422],
    idempotent: true,
    links: CLAIM_LINKS,
    async handle({ req, res: reply, params, body, principal }, deps) {
      const caller = principal();
      // The same Idempotency-Key (and caller and body) names the same claim, never a second one.
      const claimId =
        idFromKey('clm', req, params.id, 'open_claim') ?? `clm_${randomUUID().replace(/-/g, '')}`;
      // One line per SKU, as the ledger counts them (a SKU named twice: its quantities added).
      const claimRequest = {
        claimId,
        items: mergedUnits(body.items),
        kind: body.kind,
        resolution: body.resolution,
      };
      await actOn(
        deps,
        params.id,
        caller,
        { action: 'open_claim', reason: body.reason, claimRequest },
        updateIdAfter(req, claimId),
      );
      const record = await loadClaim(deps.db, claimId);
      reply
        .status(201)
        .location(`/v1/claims/${claimId}`)
        .json({ claim: claimView(record!, caller.role) });
    },
  }),
  defineRoute({
    id: 'listClaims',
    allow: CLAIM_READERS,
    method: 'get',
    path: '/v1/claims',
    summary:
      'Claims, newest first (customers: their own), by order, customer, status, kind and creation window, keyset-paginated',
    roles: 'any',
    query: listClaimsQuery,
    ok: [[200], res.claimList],
    errors: [400],
    async handle({ res: reply, query, principal }, { db }) {
      const problems = listOrdersQueryProblems(query);
      if (problems) throw problems;
      const caller = principal();
      const customerId = caller.role === 'customer' ? caller.id : query.customerId;
      const page = await listClaims(db, { ...query, customerId, channel: caller.channel });
      reply.json({ items: page.items.map((c) => claimView(c, caller.role)), nextCursor: page.nextCursor });
    },
  }),
  defineRoute({
    id: 'getClaim',
    allow: CLAIM_READERS,
    method: 'get',
    path: '/v1/claims/{id}',
    summary: 'A claim',
    roles: 'owner, merchant, support',
    params: claimIdParams,
    ok: [[200], res.claimEnvelope],
    errors: [400, 404],
    async handle({ res: reply, params, principal }, { db }) {
      const caller = principal();
      reply.json({ claim: claimView(await visibleClaim(db, params.id, caller), caller.role) });
    },
  }),
  ...(['approve', 'reject', 'ship', 'refund_instead'] as const).map((action) =>
    defineRoute({
      id: ACTIONS[action].id,
      method: 'post',
      path: `/v1/claims/{id}/${ACTIONS[action].path}`,
      summary: ACTIONS[action].summary,
      roles: 'merchant, support',
      allow: CLAIM_READERS,
      params: claimIdParams,
      body: ACTIONS[action].body,
      ok: [[200], res.claimEnvelope],
      errors: [...ACTIONS[action].errors],
      idempotent: true,
      async handle({ req, res: reply, params, body, principal }, { db, commands }) {
        const caller = principal();
        const record = await visibleClaim(db, params.id, caller);
        // A finished claim's workflow has closed: the machine answers for it.
        const refusal = refusalWhenClosed(
          claimMachine,
          { kind: 'claim', status: record.status },
          action,
          caller.role,
        );
        if (refusal) throw new RefusedError(refusal);
        const { reason, ...rest } = body as { reason?: string; resolution?: 'refund' | 'replace' } & {
          carrier?: string;
          trackingNumber?: string;
        };
        const updated = await commands.actOnClaim(
          record.id,
          {
            action,
            actor: caller,
            ...(reason ? { reason } : {}),
            ...(rest.resolution ? { resolution: rest.resolution } : {}),
            ...(action === 'ship'
              ? { shipment: { carrier: rest.carrier!, trackingNumber: rest.trackingNumber! } }
              : {}),
          },
          updateIdFromKey(req, record.id, action),
        );
        reply.json({ claim: claimView(updated, caller.role) });
      },
    }),
  ),
];
