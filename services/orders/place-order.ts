/**
 * Placing an order: price snapshot from the catalogue (./read-pricing.ts, the quote's read, here
 * locking a use of the coupon), stock held for `on_order` products, stock checked for `on_payment`
 * ones, and the order, its lines and its first history entry written, all in one transaction, so a
 * refusal leaves nothing behind. Idempotent by order id: a retry returns what the first call placed.
 */
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';
import { machineFor } from '../../domain/machines';
import type {
  HistoryEntry,
  InventoryStrategy,
  OrderLine,
  Placement,
  PlaceOrderInput,
  Presale,
} from '../../domain/order';
import { transitionEvents } from '../../domain/events';
import { priceOrder } from '../../domain/pricing';
import { writeEvents } from '../events/outbox';
import { allocationOf, reserve } from '../inventory/ledger';
import { loadOrder } from './read-order';
import { readPricing, type ProductRow } from './read-pricing';
import { writeOrderLines } from './order-lines';

export interface PlacementResult extends Placement {
  history: HistoryEntry[];
}

export async function placeOrder(
  db: Knex,
  input: PlaceOrderInput & { now: string },
  defaultStrategy: InventoryStrategy,
): Promise<PlacementResult> {
  return db.transaction(async (trx) => {
    const existing = await loadOrder(trx, input.orderId);
    if (existing) return existing;

    const { ordered, currency, pricing } = await readPricing(trx, input, {
      orderId: input.orderId,
      now: new Date(input.now),
    });
    const priced = priceOrder(pricing);
    const strategyOf = (p: ProductRow) => p.inventory_strategy ?? defaultStrategy;

    await reserve(
      trx,
      input.orderId,
      ordered
        .filter(({ product }) => strategyOf(product) === 'on_order')
        .map(({ product, quantity }) => ({ sku: product.sku, quantity })),
      'order',
    );
    for (const { product, quantity } of ordered) {
      if (strategyOf(product) === 'on_payment' && product.available < quantity) {
        throw new BusinessRuleError('OUT_OF_STOCK', 'not enough stock (sku)', {
          sku: product.sku,
        });
      }
    }

    const allocation = await allocationOf(trx, input.orderId);
    const presale = presaleTerms(input.type, ordered, priced.amounts.total, Date.parse(input.now));
    // The workflow's clock, so the durable timers measure from the same instant the order shows.
    const now = new Date(input.now);
    const createdAt = now.toISOString();
    // A presale's deposit is due by the end of its balance window at the latest: a deposit paid after
    // it would buy a balance that can no longer be paid.
    const paymentDeadline = new Date(
      Math.min(
        now.getTime() + input.policy.paymentTimeoutMs,
        presale ? Date.parse(presale.balanceEndsAt) : Infinity,
      ),
    ).toISOString();
    const items: OrderLine[] = priced.lines.map((line, i) => ({
      sku: line.sku,
      name: line.name,
      quantity: line.quantity,
      unitPrice: line.unitPrice,
      discount: line.discount,
      total: line.total,
      refundedQuantity: 0,
      inventoryStrategy: strategyOf(ordered[i]!.product),
    }));
    const initial = machineFor(input.type).initial;
    const history: HistoryEntry[] = [
      {
        seq: 1,
        from: null,
        action: 'place',
        to: initial,
        actor: `customer:${input.customerId}`,
        at: createdAt,
      },
    ];
    const placement: Placement = {
      createdAt,
      currency,
      items,
      amounts: { ...priced.amounts, paid: 0, refunded: 0 },
      discounts: priced.discounts,
      presale,
      paymentDeadline,
      allocation,
    };
    // The order as its first event shows it: what the workflow starts from.
    const events = transitionEvents(history[0]!, {
      ...placement,
      id: input.orderId,
      type: input.type,
      customerId: input.customerId,
      channel: input.channel ?? 'web',
      status: initial,
      couponCode: input.couponCode ?? null,
      shippingAddress: input.shippingAddress ?? null,
      shipment: null,
      delivery: null,
      updatedAt: createdAt,
    });
    await trx('orders').insert({
      id: input.orderId,
      type: input.type,
      customer_id: input.customerId,
      channel: input.channel ?? 'web',
      status: initial,
      currency,
      ...priced.amounts,
      paid: 0,
      refunded: 0,
      payment_deadline: paymentDeadline,
      coupon_code: input.couponCode ?? null,
      shipping_address: input.shippingAddress ? JSON.stringify(input.shippingAddress) : null,
      details: JSON.stringify({ discounts: priced.discounts, presale, allocation }),
      history_seq: 1,
      event_seq: events.length,
      request_id: input.requestId ?? null,
      created_at: createdAt,
      updated_at: createdAt,
    });
    await writeOrderLines(trx, input.orderId, items, { fresh: true });
    await trx('order_history').insert(
      history.map((h) => ({ order_id: input.orderId, ...h, reason: h.reason ?? null })),
    );
    // A new order's events are its first: numbered from 1, with their deliveries, in one statement.
    await writeEvents(trx, input.orderId, events, 1, createdAt);
    return { ...placement, history };
  });
}

/** A presale's deposit is the products' per-unit deposits; its balance window is the narrowest of theirs. */
function presaleTerms(
  type: string,
  ordered: { product: ProductRow; quantity: number }[],
  total: number,
  now: number,
): Presale | null {
  if (type !== 'presale') return null;
  const terms = ordered.map(({ product, quantity }) => ({ ...product.presale!, quantity }));
  const deposit = Math.min(
    total,
    terms.reduce((sum, t) => sum + t.depositPerUnit * t.quantity, 0),
  );
  // The deposit is the payment that takes pay-time stock: a presale without one (products stored
  // with none, or nothing left to pay) is refused rather than paid as two free payments.
  if (deposit <= 0)
    throw new BusinessRuleError(
      'PRESALE_DEPOSIT',
      'a presale takes a deposit, and these products ask for none',
    );
  const balanceStartsAt = new Date(
    Math.max(...terms.map((t) => Date.parse(t.balanceStartsAt))),
  ).toISOString();
  const balanceEndsAt = new Date(Math.min(...terms.map((t) => Date.parse(t.balanceEndsAt)))).toISOString();
  if (Date.parse(balanceEndsAt) <= Date.parse(balanceStartsAt) || Date.parse(balanceEndsAt) <= now) {
    throw new BusinessRuleError('PRESALE_WINDOW', 'the balance window of these products is closed or empty');
  }
  const depositPerUnit = Object.fromEntries(
    ordered.map(({ product }) => [product.sku, product.presale!.depositPerUnit]),
  );
  return { deposit, balanceStartsAt, balanceEndsAt, depositPerUnit };
}
