/**
 * One line per activity call, shown in the Web UI's event history (user metadata), so support
 * staff read "charge €24.00 (attempt 1)" rather than a bare activity type. Built from the
 * call's own arguments only, so replay computes the same text.
 */
import type { ActivityInterfaceFor, LocalActivityInterfaceFor } from '@temporalio/workflow';
import type { OrderActivities } from '../activities';
import { formatMoney } from '../domain/money';
import type { HistoryEntry, LineQuantity } from '../domain/order';

type Describers = {
  [K in keyof OrderActivities]: (...args: Parameters<OrderActivities[K]>) => string;
};

const units = (items: LineQuantity[]) => items.map((i) => `${i.quantity} × ${i.sku}`).join(', ');

const transition = (entry: HistoryEntry) =>
  `${entry.from ?? 'new'} → ${entry.to} (${entry.action} by ${entry.actor})`;

const stepWrites = (step: { entry: HistoryEntry; sale?: boolean; production?: boolean }) =>
  `${transition(step.entry)}${step.sale ? ', sell the held stock and redeem the locked coupon' : ''}${step.production ? ', open a production job' : ''}`;

export const activitySummaries: Describers = {
  placeOrder: (input) =>
    `place: price ${units(input.items)}, hold stock${input.couponCode ? `, lock coupon ${input.couponCode}` : ''}`,
  recordPayments: ({ payments }) =>
    `record payments in PostgreSQL: ${payments.map((p) => `${p.id} ${p.status}`).join(', ')}`,
  recordTransition: ({ entry }) => `record ${transition(entry)} in PostgreSQL`,
  recordStep: (step) =>
    `record ${stepWrites(step)}${step.next ? `; then ${stepWrites(step.next)}` : ''} in PostgreSQL`,
  secureStockForPayment: ({ attempt }) => `take pay-time stock before charge attempt ${attempt}`,
  releasePaymentStock: ({ attempt }) => `give back the stock taken for charge attempt ${attempt}`,
  capturePayment: ({ amount, currency, attempt, capture }) =>
    `${capture === 'manual' ? 'authorise' : 'charge'} ${formatMoney(amount, currency)} (attempt ${attempt})`,
  captureAuthorized: ({ amount, paymentId }) => `capture ${amount} of held payment ${paymentId}`,
  voidAuthorizations: () => 'void the payments held for the order',
  lookupPayment: ({ paymentId }) => `ask the provider what became of payment ${paymentId}`,
  reconcileCharge: ({ attempt }) => `ask the provider what became of charge attempt ${attempt}`,
  cancelPayment: ({ paymentId }) => `give up payment ${paymentId} (the customer never finished it)`,
  refundPayment: ({ amount, paymentId, reason }) =>
    `refund ${amount} of payment ${paymentId} (${
      reason === 'exchange_not_made'
        ? 'the exchange was not made'
        : reason === 'lost_request'
          ? 'the answer to its pay request was lost'
          : 'it came after the order ended'
    })`,
  commitStock: () => 'commit the held stock as sold',
  settleSale: () => 'sell the held stock and redeem the locked coupon',
  releaseHolds: ({ tag }) => `release held stock and coupon (${tag})`,
  redeemCoupon: () => 'redeem the locked coupon',
  releaseCoupon: () => 'give the coupon use back (refunded in full)',
  voidDeliveryCode: () => 'void the digital code (refunded in full)',
  // Not the cancel's reason: a person's free text stays out of what the Web UI shows of every call.
  refundAll: () => 'refund everything paid (the order is cancelled)',
  restockSold: ({ tag, stillOut }) =>
    `put the sold stock back (${tag})${stillOut?.length ? `, but for ${stillOut.length} parcel(s) still out` : ''}`,
  refundAmount: ({ amount, refundId }) => `refund ${amount} (${refundId})`,
  restockItems: ({ items, tag }) => `restock ${units(items)} (${tag})`,
  writeOffReturned: ({ items, tag }) => `write off ${units(items)}, returned damaged (${tag})`,
  writeOffUnsent: ({ items, tag }) =>
    `write off ${units(items)}, refused by their location, refunded (${tag})`,
  recordRefund: ({ refundId, plan }) => `record refund ${refundId} of ${plan.amount}`,
  saveReturn: (record) => `save return ${record.id} as ${record.status}`,
  saveClaim: (record) => `save claim ${record.id} as ${record.status}`,
  saveExchange: (record) => `save exchange ${record.id} as ${record.status}`,
  holdEditUnits: ({ editId }) => `hold the units edit ${editId} adds`,
  releaseEditUnits: ({ editId }) => `give back the units held for edit ${editId}`,
  applyEdit: ({ editId }) => `apply edit ${editId}: stock, lines, coupon`,
  holdExchangeUnits: ({ items, tag }) => `price and hold ${units(items)} for ${tag}`,
  reserveReplacement: ({ items, tag }) => `hold ${units(items)} for a replacement (${tag})`,
  commitReplacement: ({ tag }) => `sell the replacement's units (${tag})`,
  releaseReplacement: ({ tag }) => `give the replacement's units back (${tag})`,
  recordLoss: ({ items, tag }) => `record ${units(items)} as lost (${tag})`,
  modifyItems: ({ items, tag }) => `reprice with ${units(items)} (${tag})`,
  openProduction: ({ kind }) => `open a ${kind === 'digital_code' ? 'digital delivery' : 'production'} job`,
  requestFulfilment: ({ location, items }) => `ask ${location} to send ${units(items)}`,
  recordFulfilment: ({ record }) => `record fulfilment ${record.id} as ${record.status}`,
  shortPicked: ({ location, missing }) =>
    `write off ${units(missing)} missing at ${location}, take them elsewhere`,
  cancelFulfilment: ({ location }) => `ask ${location} to stop its fulfilment (the order is cancelled)`,
  recallFulfilment: ({ id }) => `ask the carrier to bring parcel ${id} back (the order is cancelled)`,
};

/** The proxy, with each call's summary filled in (a call site's own options still win). */
export function withSummaries<
  P extends ActivityInterfaceFor<OrderActivities> | LocalActivityInterfaceFor<OrderActivities>,
>(proxy: P): P {
  return new Proxy(proxy, {
    get(target, name) {
      const activity = Reflect.get(
        target,
        name,
      ) as ActivityInterfaceFor<OrderActivities>[keyof OrderActivities];
      const describe = activitySummaries[name as keyof OrderActivities] as
        ((...args: unknown[]) => string) | undefined;
      if (!describe) return activity;
      type Options = Parameters<typeof activity.executeWithOptions>[0];
      const run = (options: Options, args: unknown[]) =>
        (activity.executeWithOptions as (o: Options, a: unknown[]) => Promise<unknown>)(
          { summary: describe(...args), ...options },
          args,
        );
      return Object.assign((...args: unknown[]) => run({}, args), { executeWithOptions: run });
    },
  });
}
