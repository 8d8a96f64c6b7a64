/**
 * Order edits (issue 21, item 3): lines added, removed, changed up or down, or swapped for another
 * SKU, until the goods leave. An edit is previewed first (the order as it would be, priced as its
 * placement was: its coupon if still met, the customer's tier now, discounts allocated to the
 * cent), then confirmed: the preview is what is applied, provided the order has not changed since
 * (`editVersion`). Pure: the API previews with it, the order's rules check it.
 */
import { BusinessRuleError } from './errors';
import type { AppliedDiscount, Amounts, MemberTier, Promotion } from './pricing';
import { priceOrder, promotionDiscount } from './pricing';
import {
  MAX_LINE_QUANTITY,
  MAX_LINES,
  paymentsKept,
  pricedOrderLines,
  type InventoryStrategy,
  type LineQuantity,
  type OrderLine,
  type OrderState,
} from './order';

/**
 * Steps that change nothing an edit depends on: production starting, a review hold and its
 * approval (a warehouse handed the goods is refused by its own rule). Any other step may have
 * changed the lines, the money or what may be done.
 */
const NEUTRAL = new Set(['start_production', 'hold_for_review', 'approve']);

/** The order's version as an edit sees it: its history's steps, production and review left out. */
export function editVersion(history: readonly { action: string }[]): number {
  return history.filter((h) => !NEUTRAL.has(h.action)).length;
}

/** What a client asks: SKUs to add, lines to remove, lines whose quantity or SKU changes. */
export interface EditRequest {
  add?: LineQuantity[];
  remove?: { sku: string }[];
  change?: { sku: string; quantity?: number; newSku?: string }[];
}

/** A product an edit may add, as the catalogue has it now. */
export interface EditProduct {
  sku: string;
  name: string;
  price: number;
  inventoryStrategy: InventoryStrategy;
}

/** The order's lines and money, before or after an edit. */
export interface EditSide {
  items: OrderLine[];
  amounts: Amounts;
  discounts: AppliedDiscount[];
}

export interface EditPreview {
  before: EditSide;
  after: EditSide;
  /** after.total − before.total. */
  difference: number;
  /** What a paid order's customer pays on confirming (its total less what it kept); 0 before payment. */
  owed: number;
  /** What a paid order refunds on confirming; 0 before payment. */
  refund: number;
  /** False when the order's coupon no longer applies: its use is given back on confirming. */
  couponKept: boolean;
}

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new BusinessRuleError('EDIT_INVALID', message, details);

/**
 * The SKUs and quantities an edit leaves, in the order's line order, new SKUs last. Each SKU is
 * named once by the whole request; refused (EDIT_INVALID, naming the SKU in `details`) otherwise,
 * or when a removed or changed SKU is not a line, or nothing changes, or nothing is left.
 */
export function editedQuantities(
  items: Pick<OrderLine, 'sku' | 'quantity'>[],
  request: EditRequest,
): LineQuantity[] {
  const named = [
    ...(request.add ?? []).map((a) => a.sku),
    ...(request.remove ?? []).map((r) => r.sku),
    ...(request.change ?? []).flatMap((c) => (c.newSku ? [c.sku, c.newSku] : [c.sku])),
  ];
  const twice = named.find((sku, i) => named.indexOf(sku) !== i);
  if (twice) throw invalid('a SKU is named more than once', { sku: twice });
  const quantities = new Map(items.map((l) => [l.sku, l.quantity]));
  const line = (sku: string) => {
    if (!quantities.has(sku))
      throw new BusinessRuleError('UNKNOWN_LINE', 'the order has no line of that SKU', { sku });
  };
  for (const { sku } of request.remove ?? []) {
    line(sku);
    quantities.set(sku, 0);
  }
  for (const c of request.change ?? []) {
    line(c.sku);
    const quantity = c.quantity ?? quantities.get(c.sku)!;
    if (c.newSku) {
      if (quantities.has(c.newSku))
        throw invalid('swapped to a SKU the order already has: change that line', { sku: c.newSku });
      quantities.set(c.sku, 0);
      quantities.set(c.newSku, quantity);
    } else quantities.set(c.sku, quantity);
  }
  for (const a of request.add ?? []) quantities.set(a.sku, (quantities.get(a.sku) ?? 0) + a.quantity);
  const after = [...quantities].map(([sku, quantity]) => ({ sku, quantity }));
  if (after.every((l) => l.quantity === 0))
    throw invalid('an order needs at least one item: cancel it instead');
  if (items.every((l) => quantities.get(l.sku) === l.quantity) && after.length === items.length)
    throw invalid('the edit changes nothing');
  // What an edit adds is bounded as a placed order is: edits one after another add up.
  const kept = after.filter((l) => l.quantity > 0);
  const had = (sku: string) => items.find((l) => l.sku === sku)?.quantity ?? 0;
  const large = kept.find((l) => l.quantity > MAX_LINE_QUANTITY && l.quantity > had(l.sku));
  if (large) throw invalid(`a line may hold at most ${MAX_LINE_QUANTITY} units`, { sku: large.sku });
  if (kept.length > MAX_LINES && kept.length > items.length)
    throw invalid(`an order may have at most ${MAX_LINES} lines`);
  return kept;
}

/**
 * The order as an edit would leave it: lines it keeps keep their unit price, new SKUs take the
 * catalogue's; its coupon applies if still met, the customer's tier as it is now; discounts are
 * allocated to the lines exactly (domain/pricing.ts).
 */
export function previewEdit(
  order: Pick<OrderState, 'items' | 'amounts' | 'discounts' | 'type'>,
  request: EditRequest,
  pricing: { products: EditProduct[]; promotion: Promotion | null; memberTier: MemberTier },
): EditPreview {
  const wanted = editedQuantities(order.items, request);
  const lines = wanted.map(({ sku, quantity }) => {
    const kept = order.items.find((l) => l.sku === sku);
    const product = pricing.products.find((p) => p.sku === sku);
    if (!kept && !product)
      throw new BusinessRuleError('UNKNOWN_PRODUCT', 'some products are unknown (skus)', { skus: [sku] });
    return {
      sku,
      name: kept?.name ?? product!.name,
      unitPrice: kept?.unitPrice ?? product!.price,
      quantity,
      inventoryStrategy: kept?.inventoryStrategy ?? product!.inventoryStrategy,
    };
  });
  const subtotal = lines.reduce((a, l) => a + l.unitPrice * l.quantity, 0);
  const couponKept = pricing.promotion !== null && promotionDiscount(pricing.promotion, subtotal) > 0;
  const priced = priceOrder({
    lines,
    promotion: couponKept ? pricing.promotion : null,
    memberTier: pricing.memberTier,
    shipsPhysically: order.type !== 'virtual',
  });
  const items = pricedOrderLines(priced.lines, (i) => lines[i]!.inventoryStrategy);
  const { subtotal: s, discount, shipping, total } = order.amounts;
  const kept = order.amounts.paid - order.amounts.refunded;
  const paid = paymentsKept(order) > 0;
  return {
    before: {
      items: order.items,
      amounts: { subtotal: s, discount, shipping, total },
      discounts: order.discounts ?? [],
    },
    after: { items, amounts: priced.amounts, discounts: priced.discounts },
    difference: priced.amounts.total - total,
    owed: paid ? Math.max(0, priced.amounts.total - kept) : 0,
    refund: paid ? Math.max(0, kept - priced.amounts.total) : 0,
    couponKept,
  };
}

/** Units each SKU gains (`more`) and gives up (`fewer`) between two sets of lines. */
export function editDeltas(
  before: Pick<OrderLine, 'sku' | 'quantity'>[],
  after: Pick<OrderLine, 'sku' | 'quantity'>[],
): { more: LineQuantity[]; fewer: LineQuantity[] } {
  const skus = [...new Set([...before, ...after].map((l) => l.sku))];
  const of = (lines: Pick<OrderLine, 'sku' | 'quantity'>[], sku: string) =>
    lines.find((l) => l.sku === sku)?.quantity ?? 0;
  const delta = skus.map((sku) => ({ sku, quantity: of(after, sku) - of(before, sku) }));
  return {
    more: delta.filter((d) => d.quantity > 0),
    fewer: delta.filter((d) => d.quantity < 0).map((d) => ({ sku: d.sku, quantity: -d.quantity })),
  };
}
