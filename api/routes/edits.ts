/**
 * Order edits (`POST /v1/orders/:id/edits`, then `/v1/order-edits/:id/...`): a preview of lines
 * added, removed, changed or swapped, priced as the order would be (nothing moves), then
 * confirmed (an `edit` action on the order's workflow, which applies the preview if the order has
 * not changed since) or cancelled.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../domain/errors';
import { machineFor } from '../../domain/machines';
import { checkAction } from '../../domain/order-actions';
import { editVersion } from '../../domain/edits';
import { isPending } from '../../domain/order';
import { notNow, RefusedError, refusalFor } from '../../domain/refusals';
import { decide } from '../../domain/machine';
import { cancelEdit, createEdit, loadEdit, type EditRecord } from '../../services/orders/edits-store';
import { loadOrder } from '../../services/orders/read-order';
import type { Principal } from '../auth';
import { idFromKey, updateIdFromKey } from '../idempotency';
import { afterSalesClosed, editView, orderView } from '../order-view';
import * as res from '../response-schemas';
import { defineRoute, type Route } from '../route';
import { editBody, editConfirmBody, editIdParam, emptyBody } from '../schemas';
import { EDIT_LINKS } from './links';
import { actOn, maySee, ORDER_READERS, orderIdParams, visibleOrder } from './orders';

/**
 * An edit of an order the caller may see, or a 404 naming it; `changing`: and a role that may edit
 * the order (a 403 for one that may only read it, a channel, as a preview or confirmation is).
 */
async function visibleEdit(db: Db, id: string, caller: Principal, changing = false): Promise<EditRecord> {
  const edit = await loadEdit(db, id);
  const order = edit ? await loadOrder(db, edit.orderId) : null;
  if (!edit || !order || !maySee(order, caller)) throw new NotFoundError(`order edit ${id}`);
  if (changing) {
    const machine = machineFor(order.type);
    const decision = decide(machine, order.status, 'edit', caller.role);
    if (!decision.ok && decision.reason === 'forbidden')
      throw new RefusedError(
        refusalFor(decision, { kind: 'order', type: order.type, status: order.status }, 'edit', caller.role),
      );
  }
  return edit;
}

const editIdParams = { id: editIdParam };

export const editRoutes: Route[] = [
  defineRoute({
    id: 'previewEdit',
    allow: ORDER_READERS,
    method: 'post',
    path: '/v1/orders/{id}/edits',
    summary:
      'Preview an edit (add, remove, change quantities, swap a SKU) until the goods leave: the order as it would be, priced, and the difference; nothing moves yet',
    roles: 'owner, merchant, support',
    params: orderIdParams,
    body: editBody,
    ok: [[201], res.editEnvelope],
    errors: [403, 404, 409, 422],
    idempotent: true,
    links: EDIT_LINKS,
    async handle({ req, res: reply, params, body, principal }, { db, config }) {
      const caller = principal();
      const order = await visibleOrder(db, params.id, caller);
      // Who may edit, and whether this order can change now: the order's own rules, as confirming asks them.
      const refusal = checkAction(
        machineFor(order.type),
        order,
        {
          action: 'edit',
          actor: caller,
          editRequest: { editId: 'edt_preview', version: editVersion(order.history), owed: 0, refund: 0 },
        },
        new Map(),
        { afterSalesClosed: afterSalesClosed(order) },
      );
      if (refusal) throw new RefusedError(refusal);
      const id = idFromKey('edt', req, params.id, 'edit') ?? `edt_${randomUUID().replace(/-/g, '')}`;
      const { reason: _reason, ...request } = body;
      const edit = await createEdit(db, order, {
        id,
        request,
        by: `${caller.role}:${caller.id}`,
        defaultStrategy: config.DEFAULT_INVENTORY_STRATEGY,
        // Staff are the reviewers: only a customer's edit is held to the review threshold.
        ...(config.REVIEW_ABOVE && caller.role === 'customer' ? { reviewAbove: config.REVIEW_ABOVE } : {}),
      });
      reply
        .status(201)
        .location(`/v1/order-edits/${edit.id}`)
        .json({ edit: editView(edit, caller.role) });
    },
  }),
  defineRoute({
    id: 'getEdit',
    allow: ORDER_READERS,
    method: 'get',
    path: '/v1/order-edits/{id}',
    summary: 'An order edit',
    roles: 'owner, its channel, merchant, support',
    params: editIdParams,
    ok: [[200], res.editEnvelope],
    errors: [400, 404],
    async handle({ res: reply, params, principal }, { db }) {
      const caller = principal();
      reply.json({ edit: editView(await visibleEdit(db, params.id, caller), caller.role) });
    },
  }),
  defineRoute({
    id: 'confirmEdit',
    allow: ORDER_READERS,
    method: 'post',
    path: '/v1/order-edits/{id}/confirm',
    summary:
      'Confirm an edit: new units held, the difference charged (paymentToken: 200, 202 pending, 402) or refunded, the lines rewritten; 409 EDIT_STALE if the order changed since the preview',
    roles: 'owner, merchant, support',
    params: editIdParams,
    body: editConfirmBody,
    ok: [[200, 202], res.editConfirmed],
    errors: [402, 403, 404, 409, 422],
    idempotent: true,
    async handle({ req, res: reply, params, body, principal }, deps) {
      const caller = principal();
      const edit = await visibleEdit(deps.db, params.id, caller);
      if (edit.status === 'CANCELLED')
        throw new RefusedError(notNow('this edit was cancelled: preview another', 'CANCELLED', []));
      // Confirmed already: answered as it is. Two confirmations at once are one applied, the other
      // stale (the order changed under it); a declined one may be tried again with another token.
      const order =
        edit.status === 'CONFIRMED'
          ? await visibleOrder(deps.db, edit.orderId, caller)
          : await actOn(
              deps,
              edit.orderId,
              caller,
              {
                action: 'edit',
                editRequest: { editId: edit.id, version: edit.version, owed: edit.owed, refund: edit.refund },
                ...(body.paymentToken ? { paymentToken: body.paymentToken } : {}),
              },
              updateIdFromKey(req, edit.id, 'confirm'),
            );
      const view = {
        edit: editView((await loadEdit(deps.db, edit.id))!, caller.role),
        order: orderView(order, caller.role),
      };
      const pending = (order.payments ?? []).find(isPending);
      if (pending) return void reply.status(202).json({ ...view, payment: pending });
      reply.json(view);
    },
  }),
  defineRoute({
    id: 'cancelEdit',
    allow: ORDER_READERS,
    method: 'post',
    path: '/v1/order-edits/{id}/cancel',
    summary: 'Drop a previewed edit (nothing had moved)',
    roles: 'owner, merchant, support',
    params: editIdParams,
    body: emptyBody,
    ok: [[200], res.editEnvelope],
    errors: [400, 403, 404, 409],
    idempotent: true,
    async handle({ res: reply, params, principal }, { db }) {
      const caller = principal();
      const edit = await visibleEdit(db, params.id, caller, true);
      // A preview is dropped (again: the same answer); one confirmed meanwhile has been applied.
      const now = (await cancelEdit(db, edit.id)) ? 'CANCELLED' : (await loadEdit(db, edit.id))!.status;
      if (now !== 'CANCELLED')
        throw new RefusedError(notNow(`this edit is ${now}: it is being or has been applied`, now, []));
      reply.json({ edit: editView((await loadEdit(db, edit.id))!, caller.role) });
    },
  }),
];
