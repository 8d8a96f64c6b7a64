/** The order itself: its placement, the holds placement takes, its history, refunds, returns and changes. */
import type { Knex } from 'knex';
import type {
  HistoryEntry,
  InventoryStrategy,
  LineQuantity,
  LocationAllocation,
  PlaceOrderInput,
  UnsettledAction,
} from '../domain/order';
import { releaseAll } from '../services/inventory/ledger';
import { modifyOrderItems } from '../services/orders/modify-order';
import { importOrder } from '../services/orders/import-order';
import { placeOrder } from '../services/orders/place-order';
import { recordRefund, saveReturn, type ReturnRecord } from '../services/orders/returns-store';
import { saveClaim, type ClaimRecord } from '../services/orders/claims-store';
import { saveExchange, type ExchangeRecord } from '../services/orders/exchanges-store';
import { applyEdit, holdEditUnits, releaseEditUnits } from '../services/orders/edits-store';
import { recordPayments, recordTransition, type OrderSnapshot } from '../services/orders/record-transition';
import { releaseCoupon } from '../services/promotion/coupons';
import { settleSale } from '../services/orders/settle-sale';
import { openProductionJob } from '../services/production/jobs';

export function orderActivities({
  db,
  defaultInventoryStrategy,
}: {
  db: Knex;
  defaultInventoryStrategy: InventoryStrategy;
}) {
  return {
    /** Places an order, or imports one placed in another system (it names what it brings). */
    async placeOrder(input: PlaceOrderInput & { now: string }) {
      const { imported } = input;
      if (imported) return importOrder(db, { ...input, imported });
      return placeOrder(db, input, defaultInventoryStrategy);
    },

    /**
     * Gives back what an order holds: its reserved stock and its coupon use. It touches inventory
     * and promotion alike, in one transaction, because it undoes what placeOrder took: it lives here,
     * beside placeOrder.
     */
    async releaseHolds(args: { orderId: string; tag: string }): Promise<void> {
      await db.transaction(async (trx) => {
        await releaseAll(trx, args.orderId, args.tag);
        await releaseCoupon(trx, args.orderId);
      });
    },

    /** `unsettled`: the Update the transition came from (absent from calls of workflows from before). */
    async recordTransition(args: {
      orderId: string;
      entry: HistoryEntry;
      snapshot: OrderSnapshot;
      unsettled?: UnsettledAction;
    }): Promise<void> {
      await recordTransition(db, args.orderId, args.entry, args.snapshot, { unsettled: args.unsettled });
    },

    /**
     * A transition with the writes its step makes, in one local activity (docs/BENCHMARKS.md,
     * tuning 5): the sale once paid (where its units come from goes into the snapshot and the
     * answer), or the manufacture job once in production; then the record. The sale commits in a
     * short transaction of its own, so hot stock rows are not held through the record, and a
     * record that failed would not undo it. Idempotent as each part is.
     */
    async recordStep(args: {
      orderId: string;
      entry: HistoryEntry;
      snapshot: OrderSnapshot;
      sale?: boolean;
      production?: boolean;
      /** The step the order took at once after this one (into production), recorded after it. */
      next?: { entry: HistoryEntry; snapshot: OrderSnapshot; production?: boolean };
      unsettled?: UnsettledAction;
    }): Promise<{ allocation?: LocationAllocation[] }> {
      const allocation = args.sale ? await db.transaction((trx) => settleSale(trx, args.orderId)) : undefined;
      const withAllocation = (snapshot: OrderSnapshot) =>
        allocation ? { ...snapshot, allocation } : snapshot;
      for (const step of [args, ...(args.next ? [args.next] : [])]) {
        if (step.production) await openProductionJob(db, args.orderId, 'manufacture');
        await recordTransition(db, args.orderId, step.entry, withAllocation(step.snapshot), {
          unsettled: args.unsettled,
        });
      }
      return allocation ? { allocation } : {};
    },

    /** A payment's news without a transition (pending, failed), for the order center. */
    async recordPayments(args: {
      orderId: string;
      seq: number;
      payments: NonNullable<OrderSnapshot['payments']>;
      at: string;
      /** Absent from calls scheduled before it was passed (record-transition.ts). */
      rev?: number;
    }): Promise<void> {
      await recordPayments(db, args.orderId, args.seq, args.payments, args.at, args.rev);
    },

    async recordRefund(args: Parameters<typeof recordRefund>[1]) {
      await recordRefund(db, args);
    },

    async saveReturn(record: ReturnRecord): Promise<void> {
      await saveReturn(db, record);
    },

    async saveClaim(record: ClaimRecord): Promise<void> {
      await saveClaim(db, record);
    },

    async saveExchange(record: ExchangeRecord): Promise<void> {
      await saveExchange(db, record);
    },

    /** An edit's added units, held from stock before anything is charged. */
    async holdEditUnits(args: { orderId: string; editId: string; paid: boolean }): Promise<void> {
      await holdEditUnits(db, args);
    },

    async releaseEditUnits(args: { orderId: string; editId: string; dropped?: boolean }): Promise<void> {
      await releaseEditUnits(db, args);
    },

    /** A confirmed edit's stock moves and lines, in one transaction. */
    async applyEdit(args: { orderId: string; editId: string; paid: boolean }) {
      return applyEdit(db, args);
    },

    async modifyItems(args: { orderId: string; items: LineQuantity[]; tag: string }) {
      return modifyOrderItems(db, args);
    },
  };
}
