/**
 * Orders from other order systems (issue 22, item 4): what an import brings, and the order lines it
 * makes. Pure. The source fixed the prices and took the money; this service checks that its figures
 * add up, spreads its order-level discount over the lines (so refunds of some units stay exact) and
 * records the payment as the source's.
 */
import { allocate } from './allocate';
import { BusinessRuleError } from './errors';
import type { OrderAmounts, OrderLine, OrderPayment } from './order';

/** The states an import may join in (domain/machines/external.ts `imports`). */
export const IMPORT_STATES = ['PAID', 'SHIPPED', 'CONFIRMED'] as const;
export type ImportState = (typeof IMPORT_STATES)[number];

export interface ImportedLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** What the workflow needs of an import besides what every placement has (customer, channel, items). */
export interface ImportedOrder {
  externalId: string;
  /** Where the source left it: the state the order joins in. */
  status: ImportState;
  /** When the source placed it: the order's `createdAt`. */
  placedAt: string;
  lines: ImportedLine[];
  amounts: { subtotal?: number; discount: number; shipping: number; total: number };
  currency?: string;
  /** The source's reference of its payment, if it gave one. */
  paymentReference?: string;
  /** The parcel the source sent (an import joining as shipped or received). */
  shipment?: { carrier: string; trackingNumber: string };
  /** Who imported it, as history names actors (`channel:app-1`, `merchant:m1`). */
  by: string;
  /** A digest of the request: the same (channel, externalId) with other contents is refused (409). */
  digest: string;
}

/** What the order shows of its import. */
export interface ImportRecord {
  externalId: string;
  placedAt: string;
  digest: string;
}

/**
 * The order's lines and amounts from the source's: its subtotal must be the lines' sum, its total
 * subtotal − discount + shipping; the discount is allocated to lines by their subtotals, so the
 * lines' totals plus shipping are the total exactly.
 */
export function importedLines(
  order: Pick<ImportedOrder, 'lines' | 'amounts'>,
  names: Map<string, string>,
): { items: OrderLine[]; amounts: OrderAmounts } {
  const subtotals = order.lines.map((l) => l.unitPrice * l.quantity);
  const subtotal = subtotals.reduce((a, b) => a + b, 0);
  const { discount, shipping, total } = order.amounts;
  if (order.amounts.subtotal !== undefined && order.amounts.subtotal !== subtotal)
    throw new BusinessRuleError('AMOUNTS_MISMATCH', 'amounts.subtotal is not the sum of the lines');
  if (discount > subtotal)
    throw new BusinessRuleError('AMOUNTS_MISMATCH', 'amounts.discount is more than the subtotal');
  if (total !== subtotal - discount + shipping)
    throw new BusinessRuleError('AMOUNTS_MISMATCH', 'amounts.total is not subtotal − discount + shipping');
  const shares = allocate(discount, subtotals);
  const items = order.lines.map((l, i) => ({
    sku: l.sku,
    name: names.get(l.sku) ?? l.sku,
    quantity: l.quantity,
    unitPrice: l.unitPrice,
    discount: shares[i]!,
    total: subtotals[i]! - shares[i]!,
    refundedQuantity: 0,
    inventoryStrategy: 'on_order' as const,
  }));
  return { items, amounts: { subtotal, discount, shipping, total, paid: total, refunded: 0 } };
}

/** The payment the source took, as the order lists it: never one at this service's provider. */
export function externalPayment(
  orderId: string,
  channel: string,
  amount: number,
  reference?: string,
): OrderPayment {
  return {
    id: `ext_${orderId.replace(/^ord_/, '')}`,
    status: 'succeeded',
    method: 'external',
    amount,
    refunded: 0,
    external: { channel, ...(reference ? { reference } : {}) },
  };
}

/** The channel that took an order's money, when another system did: refunds are owed by it, not sent to the provider. */
export function externalPayer(order: { payments?: OrderPayment[] }): string | undefined {
  return order.payments?.find((p) => p.external)?.external?.channel;
}
