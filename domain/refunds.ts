/**
 * How much money a refund of some units gives back, from the allocated line totals.
 *
 * A line of Q units that cost T in all refunds its units so that the refunds of every unit add
 * up to exactly T: after r units have been refunded, k more give back
 *   floor(T·(r+k)/Q) − floor(T·r/Q),
 * so the last unit takes whatever cents are left. Shipping is refunded with the refund that
 * leaves nothing unrefunded on the order, and never on a partial one.
 *
 * A goodwill refund gives back an amount without units (`planGoodwill`): it is allocated to the
 * lines by what each has left, exactly, and a line that had one keeps its `refundedAmount`; its
 * units then share what is left of it, R, over the units left, L: k of them give back
 * floor(R·k/L), and the last ones all of R, so a line never gives back more than it cost.
 */
import { allocate, mulDiv } from './allocate';
import type { OrderLine } from './order';

/** What a recorded refund came from (`GET /v1/refunds?source=`). */
export const REFUND_SOURCES = ['refund', 'return', 'claim', 'exchange', 'edit', 'cancel', 'modify'] as const;
export interface RefundRequestLine {
  sku: string;
  quantity: number;
}

export interface RefundLine {
  sku: string;
  quantity: number;
  amount: number;
}

export interface RefundPlan {
  lines: RefundLine[];
  shipping: number;
  amount: number;
  /** True when, after this refund, every unit of the order has been refunded. */
  completesOrder: boolean;
}

/**
 * The plan as far as the provider could carry it out: `refunded` (less than planned) spread over
 * the plan's lines and shipping in proportion, the parts summing to it exactly; units unchanged.
 */
export function planAsRefunded(plan: RefundPlan, refunded: number): RefundPlan {
  const shares = allocate(refunded, [...plan.lines.map((l) => l.amount), plan.shipping]);
  return {
    ...plan,
    lines: plan.lines.map((l, i) => ({ ...l, amount: shares[i]! })),
    shipping: shares[plan.lines.length]!,
    amount: refunded,
  };
}

/** A refund that cannot be planned; the message names no value from the request (they are in `details`). */
export class RefundError extends Error {
  constructor(
    readonly code: 'NOTHING_TO_REFUND' | 'AMOUNT_TOO_LARGE' | 'UNKNOWN_LINE',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Units of a line no longer the order's to refund: refunded, or given back in an exchange. */
export const consumedUnits = (line: Pick<OrderLine, 'refundedQuantity' | 'exchangedQuantity'>): number =>
  line.refundedQuantity + (line.exchangedQuantity ?? 0);

export function unitsRefundAmount(
  line: Pick<OrderLine, 'total' | 'quantity' | 'refundedAmount' | 'exchangedAmount'>,
  alreadyRefunded: number,
  units: number,
): number {
  if (line.refundedAmount !== undefined) {
    // A line that had a goodwill refund or an exchange: what is left of it, shared by the units left.
    const rest = line.total - line.refundedAmount - (line.exchangedAmount ?? 0);
    const left = line.quantity - alreadyRefunded;
    return units >= left ? rest : mulDiv(rest, units, left);
  }
  const upTo = (n: number) => mulDiv(line.total, n, line.quantity);
  return upTo(alreadyRefunded + units) - upTo(alreadyRefunded);
}

/** What a line has given back so far, units and goodwill alike. */
export function lineRefunded(line: OrderLine): number {
  return (
    line.refundedAmount ?? unitsRefundAmount({ ...line, refundedAmount: undefined }, 0, line.refundedQuantity)
  );
}

/**
 * A refund of an amount, no units (goodwill: a late parcel, a scratch the customer keeps): at most
 * what the lines have left, allocated to them by what each has left, to the cent. Never the
 * shipping, and never the whole order: the units stay the customer's.
 */
export function planGoodwill(items: OrderLine[], amount: number): RefundPlan {
  const left = items.map((l) => l.total - lineRefunded(l) - (l.exchangedAmount ?? 0));
  const available = left.reduce((a, b) => a + b, 0);
  if (available === 0) throw new RefundError('NOTHING_TO_REFUND', 'nothing is left to refund');
  if (amount > available)
    throw new RefundError('AMOUNT_TOO_LARGE', 'more than the order has left to refund', {
      refundable: available,
    });
  const shares = allocate(amount, left);
  const lines = items
    .map((l, i) => ({ sku: l.sku, quantity: 0, amount: shares[i]! }))
    .filter((l) => l.amount > 0);
  return { lines, shipping: 0, amount, completesOrder: false };
}

/**
 * Plans a refund of `requested` (all that is left when omitted). `held` counts units promised to
 * open returns, which no other refund may take.
 */
export function planRefund(
  items: OrderLine[],
  shipping: number,
  requested: RefundRequestLine[] | undefined,
  held: Record<string, number> = {},
): RefundPlan {
  const left = (l: OrderLine) => l.quantity - consumedUnits(l) - (held[l.sku] ?? 0);
  const wanted =
    requested ?? items.filter((l) => left(l) > 0).map((l) => ({ sku: l.sku, quantity: left(l) }));
  const merged = new Map<string, number>();
  for (const r of wanted) merged.set(r.sku, (merged.get(r.sku) ?? 0) + r.quantity);
  if ([...merged.values()].reduce((a, b) => a + b, 0) === 0)
    throw new RefundError('NOTHING_TO_REFUND', 'nothing is left to refund');

  const lines: RefundLine[] = [];
  for (const [sku, quantity] of merged) {
    const line = items.find((l) => l.sku === sku);
    if (!line) throw new RefundError('UNKNOWN_LINE', 'the order has no line of that SKU', { sku });
    if (quantity > left(line)) {
      throw new RefundError(
        left(line) === 0 ? 'NOTHING_TO_REFUND' : 'AMOUNT_TOO_LARGE',
        `only ${left(line)} unit(s) of that line can be refunded`,
        { sku, refundable: left(line) },
      );
    }
    lines.push({ sku, quantity, amount: unitsRefundAmount(line, consumedUnits(line), quantity) });
  }
  const completesOrder = items.every((l) => l.refundedQuantity + (merged.get(l.sku) ?? 0) === l.quantity);
  const refundShipping = completesOrder ? shipping : 0;
  return {
    lines,
    shipping: refundShipping,
    amount: lines.reduce((a, l) => a + l.amount, 0) + refundShipping,
    completesOrder,
  };
}

/** Whether `planRefund` can plan these units now: none of them refunded already or held by a case. */
export function refundPlannable(
  items: OrderLine[],
  shipping: number,
  requested: RefundRequestLine[],
  held: Record<string, number>,
): boolean {
  try {
    planRefund(items, shipping, requested, held);
    return true;
  } catch (err) {
    if (err instanceof RefundError) return false;
    throw err;
  }
}

/** The order's lines after a refund was paid; a line that ever had a goodwill refund keeps what it gave back. */
export function applyRefund(items: OrderLine[], plan: RefundPlan): OrderLine[] {
  return items.map((l) => {
    const refunded = plan.lines.find((r) => r.sku === l.sku);
    if (!refunded) return l;
    const tracked = l.refundedAmount !== undefined || refunded.quantity === 0;
    return {
      ...l,
      refundedQuantity: l.refundedQuantity + refunded.quantity,
      ...(tracked ? { refundedAmount: lineRefunded(l) + refunded.amount } : {}),
    };
  });
}
