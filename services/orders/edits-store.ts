/**
 * Order edits in the order center: a preview is computed here from the order as the order center
 * has it (domain/edits.ts) and stored; confirming applies it inside the order's workflow, whose
 * activities below hold the new units, then move the stock and rewrite the lines in one
 * transaction, idempotent by the edit's id.
 */
import type { Knex } from 'knex';
import {
  previewEdit,
  editDeltas,
  editVersion,
  type EditPreview,
  type EditRequest,
  type EditSide,
} from '../../domain/edits';
import { BusinessRuleError } from '../../domain/errors';
import {
  DEFAULT_CHANNEL,
  type InventoryStrategy,
  type LocationAllocation,
  type OrderState,
} from '../../domain/order';
import { allocationOf, release, reserve, restock, settleReservation } from '../inventory/ledger';
import { heldPromotion, memberTier, releaseCoupon } from '../promotion/coupons';
import { editEscapesReview } from '../../domain/review';
import { writeOrderLines } from './order-lines';
import { readProducts, unpriceable, wrongKind } from './read-pricing';

export interface EditRecord extends EditPreview {
  id: string;
  orderId: string;
  customerId: string;
  /** `CONFIRMING`: its units held, its charge under way; it can no longer be cancelled. */
  status: 'PREVIEW' | 'CONFIRMING' | 'CONFIRMED' | 'CANCELLED';
  request: EditRequest;
  /** The order's version when previewed (domain/edits.ts `editVersion`): confirmed after it changed, the edit is stale. */
  version: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** Previews an edit of `order` and stores it; nothing is held or charged yet. */
export async function createEdit(
  db: Knex,
  order: OrderState,
  args: {
    id: string;
    request: EditRequest;
    by: string;
    /** A product's strategy when it has none (DEFAULT_INVENTORY_STRATEGY), as at placement. */
    defaultStrategy: InventoryStrategy;
    /**
     * REVIEW_ABOVE, when the caller's edits are held to it (a customer's or a channel's: staff are
     * the reviewers): an edit taking a paid order past it is refused (`editEscapesReview`).
     */
    reviewAbove?: Record<string, number>;
  },
): Promise<EditRecord> {
  const known = new Set(order.items.map((l) => l.sku));
  const newSkus = [
    ...(args.request.add ?? []).map((a) => a.sku),
    ...(args.request.change ?? []).flatMap((c) => (c.newSku ? [c.newSku] : [])),
  ].filter((sku) => !known.has(sku));
  const products = newSkus.length ? await readProducts(db, newSkus) : [];
  const refused =
    unpriceable(new Map(newSkus.map((sku) => [sku, 1])), products) ?? wrongKind('standard', products);
  if (refused) throw refused;
  if (products.some((p) => p.currency.trim() !== order.currency))
    throw new BusinessRuleError('CURRENCY_MISMATCH', 'all items of an order must share one currency');
  // The coupon counts only while the order still holds a use of it.
  const promotion = order.couponCode ? await heldPromotion(db, order.id) : null;
  const preview = previewEdit(order, args.request, {
    products: products.map((p) => ({
      sku: p.sku,
      name: p.name,
      price: Number(p.price),
      inventoryStrategy: p.inventory_strategy ?? args.defaultStrategy,
    })),
    promotion,
    memberTier: await memberTier(db, order.customerId, order.channel ?? DEFAULT_CHANNEL),
  });
  if (args.reviewAbove && editEscapesReview(order, preview.after.amounts.total, args)) {
    throw new BusinessRuleError(
      'EDIT_NEEDS_REVIEW',
      'this edit takes a paid order past the amount staff review: the merchant or support may make it',
    );
  }
  const now = new Date().toISOString();
  const record: EditRecord = {
    id: args.id,
    orderId: order.id,
    customerId: order.customerId,
    status: 'PREVIEW',
    request: args.request,
    ...preview,
    version: editVersion(order.history),
    createdBy: args.by,
    createdAt: now,
    updatedAt: now,
  };
  await db('order_edits')
    .insert({
      id: record.id,
      order_id: record.orderId,
      customer_id: record.customerId,
      status: record.status,
      request: JSON.stringify(record.request),
      before: JSON.stringify(record.before),
      after: JSON.stringify(record.after),
      difference: record.difference,
      owed: record.owed,
      refund: record.refund,
      coupon_kept: record.couponKept,
      version: record.version,
      created_by: record.createdBy,
      created_at: record.createdAt,
      updated_at: record.updatedAt,
    })
    .onConflict('id')
    .ignore();
  return (await loadEdit(db, record.id))!;
}

export async function loadEdit(db: Knex, id: string): Promise<EditRecord | null> {
  const row = await db('order_edits').where('id', id).first();
  return row ? editFromRow(row) : null;
}

/** Drops a preview; true if it was one (a confirmed or cancelled edit stays as it is). */
export async function cancelEdit(db: Knex, id: string): Promise<boolean> {
  const n = await db('order_edits')
    .where({ id, status: 'PREVIEW' })
    .update({ status: 'CANCELLED', updated_at: new Date().toISOString() });
  return n > 0;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function editFromRow(row: any): EditRecord {
  return {
    id: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    request: row.request,
    before: row.before,
    after: row.after,
    difference: Number(row.difference),
    owed: Number(row.owed),
    refund: Number(row.refund),
    couponKept: row.coupon_kept,
    version: row.version,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** The stock tag of an edit's confirmation attempt. */
const tagOf = (edit: { id: string; attempt: number }) => `edit:${edit.id}:${edit.attempt}`;

async function editFor(
  trx: Knex.Transaction,
  orderId: string,
  editId: string,
): Promise<EditRecord & { attempt: number }> {
  const row = await trx('order_edits').where({ id: editId, order_id: orderId }).forUpdate().first();
  if (!row) throw new BusinessRuleError('EDIT_INVALID', 'no such edit of this order');
  return { ...editFromRow(row), attempt: row.attempt };
}

/**
 * The units an edit adds, held from stock (a shortage refuses it: OUT_OF_STOCK). Before payment
 * only lines whose stock is held at placement are held now; the others are taken at payment.
 */
export async function holdEditUnits(db: Knex, args: { orderId: string; editId: string; paid: boolean }) {
  await db.transaction(async (trx) => {
    const edit = await editFor(trx, args.orderId, args.editId);
    if (edit.status === 'CANCELLED') throw new BusinessRuleError('EDIT_INVALID', 'this edit was cancelled');
    if (edit.status === 'CONFIRMED') return;
    await trx('order_edits')
      .where('id', edit.id)
      .update({ status: 'CONFIRMING', updated_at: new Date().toISOString() });
    const { more } = editDeltas(edit.before.items, edit.after.items);
    const strategy = (sku: string) => edit.after.items.find((l) => l.sku === sku)?.inventoryStrategy;
    const held = args.paid ? more : more.filter((m) => strategy(m.sku) !== 'on_payment');
    await reserve(trx, args.orderId, held, tagOf(edit));
  });
}

/** A charge for an edit that failed: the units held for it go back. */
/**
 * A charge for an edit that failed: the units held for it go back and it is a preview again.
 * `dropped`: the order ended meanwhile (its cancel gave back everything it held): the edit is
 * cancelled, and no stock moves.
 */
export async function releaseEditUnits(
  db: Knex,
  args: { orderId: string; editId: string; dropped?: boolean },
) {
  await db.transaction(async (trx) => {
    const edit = await editFor(trx, args.orderId, args.editId);
    if (edit.status !== 'CONFIRMING') return; // released already (a retry)
    if (!args.dropped) await settleReservation(trx, args.orderId, tagOf(edit), 'release');
    // Its next confirmation holds under a tag of its own.
    await trx('order_edits')
      .where('id', edit.id)
      .update({
        status: args.dropped ? 'CANCELLED' : 'PREVIEW',
        attempt: edit.attempt + 1,
        updated_at: new Date().toISOString(),
      });
  });
}

/**
 * Applies a confirmed edit: the held units sold (a paid order) or kept held, units given up put
 * back on hand (sold) or released (held), the coupon's use given back if it no longer applies,
 * the lines rewritten, the edit marked confirmed. One transaction, the same answer if run again.
 */
export async function applyEdit(
  db: Knex,
  args: { orderId: string; editId: string; paid: boolean },
): Promise<EditSide & { allocation: LocationAllocation[] }> {
  return db.transaction(async (trx) => {
    const edit = await editFor(trx, args.orderId, args.editId);
    const tag = tagOf(edit);
    if (edit.status !== 'CONFIRMED') {
      const { fewer } = editDeltas(edit.before.items, edit.after.items);
      if (args.paid) {
        await settleReservation(trx, args.orderId, tag, 'commit');
        await restock(trx, args.orderId, fewer, tag);
      } else await release(trx, args.orderId, fewer, tag);
      if (!edit.couponKept) await releaseCoupon(trx, args.orderId);
      await writeOrderLines(trx, args.orderId, edit.after.items);
      await trx('order_edits')
        .where('id', edit.id)
        .update({ status: 'CONFIRMED', updated_at: new Date().toISOString() });
    }
    return { ...edit.after, allocation: await allocationOf(trx, args.orderId) };
  });
}
