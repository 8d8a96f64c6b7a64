/**
 * The hold before fulfilment: an order waits for a staff decision (approve or reject) before
 * anything is made or sent when its total passes the threshold set for its currency
 * (REVIEW_ABOVE), or when the payment provider scored one of its charges above normal risk.
 */
import type { OrderPolicy, OrderState } from './order';

export function needsReview(
  order: Pick<OrderState, 'currency' | 'amounts' | 'payments'>,
  policy: OrderPolicy,
): boolean {
  const threshold = policy.reviewAbove?.[order.currency];
  if (threshold !== undefined && order.amounts.total > threshold) return true;
  return (order.payments ?? []).some((p) => p.risk !== undefined);
}

/**
 * Whether an edit would take a paid order past the review threshold without passing review: a
 * small order paid, then edited up, would otherwise reach production unseen. The review hold is
 * decided once, as production starts; an unpaid order is reviewed at payment with its new total,
 * and one in `IN_REVIEW` waits for staff anyway. Lowering a total is never held back.
 */
export function editEscapesReview(
  order: Pick<OrderState, 'currency' | 'amounts' | 'status'>,
  afterTotal: number,
  policy: Pick<OrderPolicy, 'reviewAbove'>,
): boolean {
  if (order.status === 'PENDING_PAYMENT' || order.status === 'IN_REVIEW') return false;
  const threshold = policy.reviewAbove?.[order.currency];
  return threshold !== undefined && afterTotal > threshold && afterTotal > order.amounts.total;
}

/** `REVIEW_ABOVE`: `USD:100000,EUR:90000`, each a currency and an amount in its minor units. */
export function parseReviewThresholds(text: string): Record<string, number> {
  const thresholds: Record<string, number> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Z]{3}):(\d{1,15})$/.exec(part);
    if (!m)
      throw new Error('each threshold is a currency code and an amount in minor units, such as USD:100000');
    if (m[1]! in thresholds) throw new Error(`${m[1]} is given twice`);
    thresholds[m[1]!] = Number(m[2]);
  }
  return thresholds;
}
