/**
 * Every side effect of an order, as activities. Activities run at least once, so each is
 * idempotent by a key derived from the workflow (order id, operation, attempt number). Their
 * errors cross into the workflow as ./failures.ts says.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { FailureType } from '../domain/errors';
import type { HistoryEntry, InventoryStrategy, PlaceOrderInput } from '../domain/order';
import type { RefundPlan } from '../domain/refunds';
import {
  commitAll,
  release,
  releaseAll,
  reserve,
  restock,
  soldNotRestocked,
  type StockLine,
} from '../services/inventory/ledger';
import { modifyOrderItems } from '../services/orders/modify-order';
import { placeOrder } from '../services/orders/place-order';
import { recordRefund, saveReturn, type ReturnRecord } from '../services/orders/returns-store';
import { recordTransition, type OrderSnapshot } from '../services/orders/record-transition';
import type { PaymentProvider } from '../services/payment/provider';
import { openProductionJob } from '../services/production/jobs';
import { redeemCoupon, releaseCoupon } from '../services/promotion/coupons';
import { guarded } from './failures';

export interface ActivityDeps {
  db: Knex;
  payments: PaymentProvider;
  defaultInventoryStrategy: InventoryStrategy;
}

export const chargeKey = (orderId: string, attempt: number) => `${orderId}:charge:${attempt}`;

export function createActivities({ db, payments, defaultInventoryStrategy }: ActivityDeps) {
  /** The lines whose stock is taken at payment time. */
  async function onPaymentLines(orderId: string): Promise<StockLine[]> {
    return db('order_items')
      .where({ order_id: orderId, inventory_strategy: 'on_payment' })
      .select('sku', 'quantity');
  }

  /**
   * Refunds up to `limit` for one refund (`refundId`) of an order, one provider refund per payment
   * keyed by (refundId, payment). A retry first looks up what this refund already did, so it never
   * refunds twice, and returns the same total.
   */
  async function refundAcrossPayments(
    orderId: string,
    refundId: string,
    limit: number,
    reason: string,
  ): Promise<number> {
    const key = (paymentId: string) => `${orderId}:refund:${refundId}:${paymentId}`;
    const paymentsOfOrder = await payments.refundable(orderId);
    const done = new Map<string, number>();
    for (const p of paymentsOfOrder) {
      const earlier = await payments.lookupRefund(key(p.paymentId));
      if (earlier) done.set(p.paymentId, earlier.amount);
    }
    let total = [...done.values()].reduce((a, b) => a + b, 0);
    for (const p of paymentsOfOrder) {
      if (total >= limit) break;
      if (done.has(p.paymentId) || p.refundable === 0) continue;
      const refund = await payments.refund({
        idempotencyKey: key(p.paymentId),
        paymentId: p.paymentId,
        orderId,
        amount: Math.min(limit - total, p.refundable),
        reason,
      });
      total += refund.amount;
    }
    return total;
  }

  return guarded({
    async placeOrder(input: PlaceOrderInput & { now: string }) {
      return placeOrder(db, input, defaultInventoryStrategy);
    },

    async recordTransition(args: {
      orderId: string;
      entry: HistoryEntry;
      snapshot: OrderSnapshot;
    }): Promise<void> {
      await recordTransition(db, args.orderId, args.entry, args.snapshot);
    },

    /** `on_payment` lines: take the stock before any money moves, so nobody pays for goods that cannot ship. */
    async secureStockForPayment(args: { orderId: string; attempt: number }): Promise<void> {
      const lines = await onPaymentLines(args.orderId);
      if (lines.length === 0) return;
      await db.transaction((trx) => reserve(trx, args.orderId, lines, `pay${args.attempt}`));
    },

    /** Compensation of secureStockForPayment when the charge did not go through. */
    async releasePaymentStock(args: { orderId: string; attempt: number }): Promise<void> {
      const lines = await onPaymentLines(args.orderId);
      if (lines.length === 0) return;
      await db.transaction((trx) => release(trx, args.orderId, lines, `pay${args.attempt}`));
    },

    /**
     * Charges once per attempt key: a retry of this activity (a response lost on the way back)
     * finds the provider's stored outcome under the same key and never charges again.
     */
    async capturePayment(args: {
      orderId: string;
      attempt: number;
      amount: number;
      currency: string;
      token: string;
    }) {
      const result = await payments.charge({
        idempotencyKey: chargeKey(args.orderId, args.attempt),
        orderId: args.orderId,
        amount: args.amount,
        currency: args.currency,
        token: args.token,
      });
      if (result.status === 'declined') {
        throw ApplicationFailure.create({
          type: FailureType.PaymentDeclined,
          message: `payment declined: ${result.code}`,
          nonRetryable: true,
          details: [{ code: result.code }],
        });
      }
      return { paymentId: result.paymentId };
    },

    async commitStock(args: { orderId: string }): Promise<void> {
      await db.transaction((trx) => commitAll(trx, args.orderId, 'paid'));
    },

    /** Gives back what an order holds: its reserved stock and its coupon use. */
    async releaseHolds(args: { orderId: string; tag: string }): Promise<void> {
      await db.transaction(async (trx) => {
        await releaseAll(trx, args.orderId, args.tag);
        await releaseCoupon(trx, args.orderId);
      });
    },

    async redeemCoupon(args: { orderId: string }): Promise<void> {
      await redeemCoupon(db, args.orderId);
    },

    /** Refunds everything captured and not yet refunded on the order; returns what this refund (`tag`) refunded. */
    async refundAll(args: { orderId: string; tag: string; reason: string }): Promise<number> {
      return refundAcrossPayments(args.orderId, args.tag, Number.MAX_SAFE_INTEGER, args.reason);
    },

    /** Goods sold but not shipped go back on hand. */
    async restockSold(args: { orderId: string; tag: string }): Promise<void> {
      await db.transaction(async (trx) =>
        restock(trx, args.orderId, await soldNotRestocked(trx, args.orderId), args.tag),
      );
    },

    /** Refunds exactly `amount` across the order's payments, oldest first. */
    async refundAmount(args: {
      orderId: string;
      refundId: string;
      amount: number;
      reason: string;
    }): Promise<number> {
      const refunded = await refundAcrossPayments(args.orderId, args.refundId, args.amount, args.reason);
      if (refunded !== args.amount)
        throw new Error(`refund ${args.refundId}: only ${refunded} of ${args.amount} could be refunded`);
      return refunded;
    },

    /** Goods back in stock (a received return, units refunded before shipping), never more than sold. */
    async restockItems(args: { orderId: string; items: StockLine[]; tag: string }): Promise<void> {
      await db.transaction((trx) => restock(trx, args.orderId, args.items, args.tag));
    },

    async recordRefund(args: {
      refundId: string;
      orderId: string;
      source: string;
      plan: RefundPlan;
      reason: string;
      at: string;
    }) {
      await recordRefund(db, args);
    },

    async saveReturn(record: ReturnRecord): Promise<void> {
      await saveReturn(db, record);
    },

    async modifyItems(args: { orderId: string; items: { sku: string; quantity: number }[]; tag: string }) {
      return modifyOrderItems(db, args);
    },

    async openProduction(args: { orderId: string; kind: 'manufacture' | 'digital_code' }) {
      return openProductionJob(db, args.orderId, args.kind);
    },
  });
}

export type OrderActivities = ReturnType<typeof createActivities>;
