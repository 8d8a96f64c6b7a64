/**
 * Placing an order: price snapshot from the catalogue, stock held for `on_order` products, stock
 * checked for `on_payment` ones, and the order, its lines and its first history entry written,
 * all in one transaction, so a refusal leaves nothing behind. Idempotent by order id: a retry
 * returns what the first call placed.
 */
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';
import { machineFor } from '../../domain/machines';
import {
  type HistoryEntry,
  type InventoryStrategy,
  type OrderLine,
  type Placement,
  type PlaceOrderInput,
  type Presale,
  unitsBySku,
} from '../../domain/order';
import { priceOrder } from '../../domain/pricing';
import { reserve } from '../inventory/ledger';
import { lockCoupon, memberTier } from '../promotion/coupons';
import { loadOrder } from './read-order';
import { writeOrderLines } from './order-lines';

interface ProductRow {
  sku: string;
  name: string;
  price: number;
  currency: string;
  kind: 'physical' | 'virtual';
  inventory_strategy: InventoryStrategy | null;
  on_hand: number;
  reserved: number;
  presale: { depositPerUnit: number; balanceStartsAt: string; balanceEndsAt: string } | null;
}

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

    const quantities = unitsBySku(input.items);
    const products: ProductRow[] = await trx('products').whereIn('sku', [...quantities.keys()]);
    const bySku = new Map(products.map((p) => [p.sku, p]));
    const missing = [...quantities.keys()].filter((sku) => !bySku.has(sku));
    if (missing.length > 0)
      throw new BusinessRuleError('UNKNOWN_PRODUCT', 'some products are unknown (skus)', {
        skus: missing,
      });
    const currencies = new Set(products.map((p) => p.currency));
    if (currencies.size > 1)
      throw new BusinessRuleError('CURRENCY_MISMATCH', 'all items of an order must share one currency');
    const wantKind = input.type === 'virtual' ? 'virtual' : 'physical';
    const wrongKind = products.filter(
      (p) => p.kind !== wantKind || (input.type === 'presale') !== (p.presale != null),
    );
    if (wrongKind.length > 0) {
      throw new BusinessRuleError(
        'WRONG_PRODUCT_KIND',
        'these products cannot be in an order of this type (skus)',
        {
          skus: wrongKind.map((p) => p.sku),
        },
      );
    }

    const ordered = [...quantities.entries()].map(([sku, quantity]) => ({
      product: bySku.get(sku)!,
      quantity,
    }));
    const lines = ordered.map(({ product, quantity }) => ({
      sku: product.sku,
      name: product.name,
      unitPrice: product.price,
      quantity,
    }));
    const subtotal = lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
    const promotion = input.couponCode
      ? await lockCoupon(trx, {
          code: input.couponCode,
          orderId: input.orderId,
          customerId: input.customerId,
          subtotal,
          now: new Date(input.now),
        })
      : null;
    const priced = priceOrder({
      lines,
      promotion,
      memberTier: await memberTier(trx, input.customerId),
      shipsPhysically: input.type !== 'virtual',
    });
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
      if (strategyOf(product) === 'on_payment' && product.on_hand - product.reserved < quantity) {
        throw new BusinessRuleError('OUT_OF_STOCK', 'not enough stock (sku)', {
          sku: product.sku,
        });
      }
    }

    const presale = presaleTerms(input.type, ordered, priced.amounts.total, Date.parse(input.now));
    // The workflow's clock, so the durable timers measure from the same instant the order shows.
    const now = new Date(input.now);
    const createdAt = now.toISOString();
    const paymentDeadline = new Date(now.getTime() + input.policy.paymentTimeoutMs).toISOString();
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
    const currency = products[0]!.currency;

    await trx('orders').insert({
      id: input.orderId,
      type: input.type,
      customer_id: input.customerId,
      status: initial,
      currency,
      ...priced.amounts,
      paid: 0,
      refunded: 0,
      payment_deadline: paymentDeadline,
      coupon_code: input.couponCode ?? null,
      shipping_address: input.shippingAddress ? JSON.stringify(input.shippingAddress) : null,
      details: JSON.stringify({ discounts: priced.discounts, presale }),
      history_seq: 1,
      request_id: input.requestId ?? null,
      created_at: createdAt,
      updated_at: createdAt,
    });
    await writeOrderLines(trx, input.orderId, items);
    await trx('order_history').insert(
      history.map((h) => ({ order_id: input.orderId, ...h, reason: h.reason ?? null })),
    );

    return {
      createdAt,
      currency,
      items,
      amounts: { ...priced.amounts, paid: 0, refunded: 0 },
      discounts: priced.discounts,
      presale,
      paymentDeadline,
      history,
    };
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
  const balanceStartsAt = new Date(
    Math.max(...terms.map((t) => Date.parse(t.balanceStartsAt))),
  ).toISOString();
  const balanceEndsAt = new Date(Math.min(...terms.map((t) => Date.parse(t.balanceEndsAt)))).toISOString();
  if (Date.parse(balanceEndsAt) <= Date.parse(balanceStartsAt) || Date.parse(balanceEndsAt) <= now) {
    throw new BusinessRuleError('PRESALE_WINDOW', 'the balance window of these products is closed or empty');
  }
  return { deposit, balanceStartsAt, balanceEndsAt };
}
