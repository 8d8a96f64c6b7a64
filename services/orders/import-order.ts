/**
 * Importing an order placed in another order system (type `external`): the source's prices
 * checked to add up (domain/imports.ts), its units taken from the stock ledger as sold (never
 * oversold: a shortage refuses the import and leaves nothing behind), its payment recorded as the
 * source's, and the order written in the state the source left it, with its first events, all in
 * one transaction. Idempotent by order id, which the API derives from (channel, external id).
 */
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';
import { paymentEvents, transitionEvents } from '../../domain/events';
import { externalPayment, importedLines, type ImportedOrder } from '../../domain/imports';
import type { HistoryEntry, OrderState, PlaceOrderInput, Shipment } from '../../domain/order';
import { writeEvents } from '../events/outbox';
import { allocationOf, commitAll, reserve } from '../inventory/ledger';
import type { PlacementResult } from './place-order';
import { loadOrder } from './read-order';
import { machineFor } from '../../domain/machines';
import { readProducts, unpriceable, wrongKind } from './read-pricing';
import { writeOrderLines } from './order-lines';

/** What an import places besides a placement's: the state it joins in, its payment and parcel. */
export type ImportResult = PlacementResult &
  Pick<
    OrderState,
    'status' | 'payments' | 'shipment' | 'shipments' | 'imported' | 'updatedAt' | 'afterSalesUntil'
  >;

export async function importOrder(
  db: Knex,
  input: PlaceOrderInput & { now: string; imported: ImportedOrder },
): Promise<ImportResult> {
  const { imported, orderId } = input;
  const channel = input.channel ?? 'web';
  return db.transaction(async (trx) => {
    const existing = await loadOrder(trx, orderId);
    if (existing) return existing;

    const products = await readProducts(
      trx,
      imported.lines.map((l) => l.sku),
    );
    const units = new Map(imported.lines.map((l) => [l.sku, l.quantity]));
    const refusal = unpriceable(units, products) ?? wrongKind('external', products);
    if (refusal) throw refusal;
    const currency = products[0]!.currency.trim();
    if (imported.currency && imported.currency !== currency)
      throw new BusinessRuleError('CURRENCY_MISMATCH', 'the products are sold in another currency');
    const { items, amounts } = importedLines(imported, new Map(products.map((p) => [p.sku, p.name])));

    // Sold already: taken from the ledger now (reserved and committed at once), or not at all.
    const lines = imported.lines.map(({ sku, quantity }) => ({ sku, quantity }));
    await reserve(trx, orderId, lines, 'order');
    await commitAll(trx, orderId, 'paid');
    const allocation = await allocationOf(trx, orderId);

    const createdAt = new Date(imported.placedAt).toISOString();
    const now = new Date(input.now).toISOString();
    const status = imported.status;
    const payments = [externalPayment(orderId, channel, amounts.total, imported.paymentReference)];
    // Shipped by the source: one parcel of everything, sent by hand as far as this service knows.
    const sent = status !== 'PAID';
    const shipment = sent ? (imported.shipment ?? { carrier: 'unknown', trackingNumber: 'unknown' }) : null;
    const shipments: Shipment[] = shipment
      ? [
          {
            id: `${orderId}:parcel1`,
            location: null,
            items: lines,
            ...shipment,
            status: status === 'CONFIRMED' ? 'delivered' : 'shipped',
          },
        ]
      : [];
    const record = { externalId: imported.externalId, placedAt: createdAt, digest: imported.digest };
    // Joining in the after-sales window (confirmed at the source): it counts from the import, as the workflow's timer.
    const afterSalesUntil =
      machineFor('external').states[status]?.after?.timer === 'afterSalesWindow'
        ? new Date(Date.parse(now) + input.policy.afterSalesWindowMs).toISOString()
        : undefined;
    const history: HistoryEntry[] = [
      {
        seq: 1,
        from: null,
        action: 'import',
        to: status,
        actor: imported.by,
        at: now,
        reason: `imported from ${channel}`,
      },
    ];
    const placed: ImportResult = {
      createdAt,
      updatedAt: now,
      currency,
      items,
      amounts,
      discounts: [],
      presale: null,
      // No payment step: the deadline passed when the source took the money.
      paymentDeadline: createdAt,
      allocation,
      history,
      status,
      payments,
      shipment,
      shipments,
      imported: record,
      ...(afterSalesUntil ? { afterSalesUntil } : {}),
    };
    const order = {
      ...placed,
      id: orderId,
      type: 'external' as const,
      customerId: input.customerId,
      channel,
      couponCode: null,
      shippingAddress: input.shippingAddress ?? null,
      delivery: null,
    };
    // Created, imported, and the source's payment.
    const events = [...transitionEvents(history[0]!, order), ...paymentEvents(order)];
    await trx('orders').insert({
      id: orderId,
      type: 'external',
      customer_id: input.customerId,
      channel,
      external_id: imported.externalId,
      status,
      currency,
      ...amounts,
      payment_deadline: createdAt,
      coupon_code: null,
      shipping_address: input.shippingAddress ? JSON.stringify(input.shippingAddress) : null,
      details: JSON.stringify({
        discounts: [],
        presale: null,
        shipment,
        payments,
        allocation,
        shipments,
        imported: record,
        ...(afterSalesUntil ? { afterSalesUntil } : {}),
      }),
      history_seq: 1,
      event_seq: events.length,
      request_id: input.requestId ?? null,
      created_at: createdAt,
      updated_at: now,
    });
    await writeOrderLines(trx, orderId, items);
    await trx('order_history').insert(
      history.map((h) => ({ order_id: orderId, ...h, reason: h.reason ?? null })),
    );
    await writeEvents(trx, orderId, events, 1, now);
    return placed;
  });
}
