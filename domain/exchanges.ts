/**
 * An exchange: the customer sends some units back and receives others (another size, another
 * product) in one request. The returned units are credited at the price paid (after their share
 * of discounts), the new ones priced from the catalogue and held from stock at once; the customer
 * pays the difference, or is refunded it when the goods are back. Its own machine, in the same
 * format as the orders'.
 *
 * The order accounts for the returned units as soon as the exchange opens (`exchangedQuantity`,
 * `exchangedAmount` on its lines: no longer refundable or returnable) and gives them back if the
 * exchange is rejected or cancelled. The new units are the exchange's: sold when they ship, as
 * another parcel of the order.
 */
import { BusinessRuleError } from './errors';
import type { OrderMachine } from './machine';
import type { LineQuantity, OrderLine } from './order';
import { consumedUnits, lineRefunded, RefundError, unitsRefundAmount } from './refunds';
import type { ReceivedUnits } from './returns';

type State =
  'REQUESTED' | 'APPROVED' | 'RECEIVED' | 'SHIPPED' | 'COMPLETED' | 'UNRETURNED' | 'REJECTED' | 'CANCELLED';
type Action = 'approve' | 'reject' | 'receive' | 'ship' | 'cancel' | 'close' | 'pay' | 'settle_payment';

const staff = ['merchant', 'support'] as const;
const payable = ['REQUESTED', 'APPROVED', 'RECEIVED'] as const;

export const exchangeMachine: OrderMachine<State, Action> = {
  type: 'exchange',
  description:
    'An exchange: units sent back for others in one request. The new units are priced and held at once; the customer pays the difference (or is refunded it when the goods are back); staff approve it, receive the returned goods and ship the new units, in either order. Rejected or cancelled (also by the system when nobody decides, or the goods are not sent, in time), the held units go back and a paid difference is refunded; new units shipped against goods that never came close it as UNRETURNED.',
  initial: 'REQUESTED',
  states: {
    REQUESTED: {
      labels: { customer: 'Exchange requested', merchant: 'To review', support: 'Awaiting merchant review' },
      waitsFor: 'staff to approve or reject, and the customer to pay any difference',
      // Nobody decided in time: nothing moved yet, so everything is given back.
      after: { timer: 'returnDecisionWindow', action: 'cancel', reason: 'not_decided_in_time' },
    },
    APPROVED: {
      labels: {
        customer: 'Approved: send the goods back',
        merchant: 'Approved: receive the goods, ship the new units',
        support: 'Approved, goods not back, new units not shipped',
      },
      waitsFor: 'the returned goods, and the new units to ship (once any difference is paid)',
      after: { timer: 'returnShipWindow', action: 'cancel', reason: 'goods_never_sent' },
    },
    RECEIVED: {
      labels: {
        customer: 'Goods received, new units to ship',
        merchant: 'Received: ship the new units',
        support: 'Goods back, new units not shipped',
      },
      waitsFor: 'the new units to ship (once any difference is paid)',
    },
    SHIPPED: {
      labels: {
        customer: 'New units on their way: send the goods back',
        merchant: 'Shipped: receive the goods',
        support: 'New units shipped, goods not back',
      },
      waitsFor: 'the returned goods',
      // The new units left and the old ones never came: closed, so the order can complete.
      after: { timer: 'returnShipWindow', action: 'close', reason: 'goods_never_sent' },
    },
    COMPLETED: {
      labels: { customer: 'Exchanged', merchant: 'Exchanged', support: 'Exchanged' },
      terminal: true,
    },
    UNRETURNED: {
      labels: {
        customer: 'Closed: the goods were not sent back',
        merchant: 'Closed: goods never came back',
        support: 'Closed: new units shipped, the returned goods never came',
      },
      terminal: true,
    },
    REJECTED: {
      labels: { customer: 'Exchange rejected', merchant: 'Rejected', support: 'Rejected' },
      terminal: true,
    },
    CANCELLED: {
      labels: { customer: 'Exchange cancelled', merchant: 'Cancelled', support: 'Cancelled' },
      terminal: true,
    },
  },
  transitions: [
    { from: 'REQUESTED', action: 'approve', to: 'APPROVED', by: staff },
    { from: 'REQUESTED', action: 'reject', to: 'REJECTED', by: staff },
    { from: 'REQUESTED', action: 'cancel', to: 'CANCELLED', by: ['customer', ...staff, 'system'] },
    { from: 'APPROVED', action: 'cancel', to: 'CANCELLED', by: ['customer', ...staff, 'system'] },
    { from: 'SHIPPED', action: 'close', to: 'UNRETURNED', by: ['system'] },
    { from: 'APPROVED', action: 'receive', to: 'RECEIVED', by: staff },
    { from: 'APPROVED', action: 'ship', to: 'SHIPPED', by: staff },
    { from: 'RECEIVED', action: 'ship', to: 'COMPLETED', by: staff },
    { from: 'SHIPPED', action: 'receive', to: 'COMPLETED', by: staff },
    // The difference, when the customer owes one: paid (or attempted), then a pending one settled.
    ...payable.map((s) => ({ from: s, action: 'pay' as const, to: s, by: ['customer'] as const })),
    ...payable.map((s) => ({ from: s, action: 'settle_payment' as const, to: s, by: ['system'] as const })),
  ],
};

/** A new unit line of an exchange, priced from the catalogue when it was opened. */
export interface ExchangeLine {
  sku: string;
  name: string;
  quantity: number;
  unitPrice: number;
  total: number;
}

/**
 * An exchange's new units at their catalogue prices; exact integers only, as an order's total is
 * (domain/pricing.ts): lines or a sum past 2^53 are refused, never rounded.
 */
export function priceNewUnits(
  items: readonly LineQuantity[],
  products: readonly { sku: string; name: string; price: number | string }[],
): ExchangeLine[] {
  const lines = items.map(({ sku, quantity }) => {
    const p = products.find((x) => x.sku === sku)!;
    const unitPrice = Number(p.price);
    return { sku, name: p.name, quantity, unitPrice, total: unitPrice * quantity };
  });
  const sum = lines.reduce((a, l) => a + l.total, 0);
  if (!lines.every((l) => Number.isSafeInteger(l.total)) || !Number.isSafeInteger(sum))
    throw new BusinessRuleError('AMOUNT_TOO_LARGE', 'the new units cost more than an amount can be', {
      max: Number.MAX_SAFE_INTEGER,
    });
  return lines;
}

/** Returned units of one order line, and what they are credited (their share of what was paid). */
export interface ExchangeCredit {
  sku: string;
  quantity: number;
  amount: number;
}

/** The difference's payment, as the exchange shows it; `refunded` when given back (a cancel). */
export interface ExchangePayment {
  id: string;
  status: 'processing' | 'requires_action' | 'succeeded' | 'failed' | 'refunded';
  amount: number;
  method?: string;
  nextAction?: { redirectUrl: string };
  code?: string;
}

/** An exchange as its workflow holds it and the order center stores it. */
export interface ExchangeRecord {
  id: string;
  orderId: string;
  customerId: string;
  status: string;
  currency: string;
  returnItems: ExchangeCredit[];
  newItems: ExchangeLine[];
  /** What the returned units are worth (Σ returnItems' amounts). */
  credit: number;
  /** What the new units cost (Σ newItems' totals). */
  newTotal: number;
  /** newTotal − credit: above 0 the customer pays it, below 0 it is refunded when the goods are back. */
  difference: number;
  payment?: ExchangePayment;
  /** Money given back: a negative difference, or a paid difference when the exchange did not happen. */
  refundedAmount: number | null;
  /** `receive`: what came back, per SKU (none named: everything, sellable). */
  received?: ReceivedUnits[];
  /** The new units' parcel, once shipped. */
  shipment?: { carrier: string; trackingNumber: string; shippedAt: string };
  reason: string;
  history: { from: string | null; action: string; to: string; actor: string; at: string; reason?: string }[];
  createdAt: string;
  updatedAt: string;
}

/**
 * Why a receipt does not account for exactly the units the exchange takes back (a field path),
 * or null: an exchange credited them all, so every one must be there, sellable or damaged.
 */
export function exchangeReceiptProblem(
  returned: Pick<ExchangeCredit, 'sku' | 'quantity'>[],
  received: ReceivedUnits[],
): string | null {
  for (const [i, r] of received.entries()) {
    const held = returned.find((x) => x.sku === r.sku);
    if (!held || received.findIndex((x) => x.sku === r.sku) !== i) return `items.${i}.sku`;
    if (r.sellable + r.damaged !== held.quantity) return `items.${i}`;
  }
  return returned.every((x) => received.some((r) => r.sku === x.sku)) ? null : 'items';
}

/** What the customer still owes: the difference, unless a payment of it succeeded. */
export function owed(record: Pick<ExchangeRecord, 'difference' | 'payment'>): number {
  return record.difference > 0 && record.payment?.status !== 'succeeded' ? record.difference : 0;
}

export const isPendingPayment = (p: ExchangePayment | undefined): boolean =>
  p?.status === 'processing' || p?.status === 'requires_action';

/**
 * The actions an exchange offers, as its workflow takes them: `pay` only while something is owed
 * and no payment is pending; `receive` and `ship` (goods moving) only once nothing is owed or
 * pending.
 */
export function exchangeActions(
  record: Pick<ExchangeRecord, 'difference' | 'payment'>,
  actions: readonly string[],
): string[] {
  const pending = isPendingPayment(record.payment);
  return actions.filter((a) => {
    if (a === 'pay') return owed(record) > 0 && !pending;
    if (a === 'receive' || a === 'ship') return owed(record) === 0 && !pending;
    return true;
  });
}

/**
 * What the returned units are credited, line by line: each unit its exact share of what its line
 * cost, as a refund of it would give back (domain/refunds.ts). Throws a RefundError for units the
 * order cannot give (not shipped, refunded, exchanged or held by a return or claim).
 */
export function exchangeCredits(
  items: OrderLine[],
  returned: LineQuantity[],
  held: Record<string, number> = {},
): ExchangeCredit[] {
  return returned.map(({ sku, quantity }) => {
    const line = items.find((l) => l.sku === sku);
    if (!line) throw new RefundError('UNKNOWN_LINE', 'the order has no line of that SKU', { sku });
    const left = line.quantity - consumedUnits(line) - (held[sku] ?? 0);
    if (quantity > left)
      throw new RefundError(
        left === 0 ? 'NOTHING_TO_REFUND' : 'AMOUNT_TOO_LARGE',
        `only ${left} unit(s) of that line can be exchanged`,
        { sku, refundable: left },
      );
    return { sku, quantity, amount: unitsRefundAmount(line, consumedUnits(line), quantity) };
  });
}

/**
 * The order's lines with an exchange's units taken out (`sign` 1), or given back (−1: rejected,
 * cancelled). A line that had one keeps its money exactly from then on (`refundedAmount`), so
 * what its other units refund, and what this exchange was credited, add up to its total.
 */
export function applyExchange(items: OrderLine[], credits: ExchangeCredit[], sign: 1 | -1): OrderLine[] {
  return items.map((l) => {
    const c = credits.find((x) => x.sku === l.sku);
    if (!c) return l;
    return {
      ...l,
      refundedAmount: lineRefunded(l),
      exchangedQuantity: (l.exchangedQuantity ?? 0) + sign * c.quantity,
      exchangedAmount: (l.exchangedAmount ?? 0) + sign * c.amount,
    };
  });
}
