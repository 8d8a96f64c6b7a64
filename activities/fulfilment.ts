/** Fulfilment: requests to the warehouse, one per order and stock location, and the order center's record of each. */
import type { Knex } from 'knex';
import { fulfilmentId, missingUnits, type FulfilmentRecord } from '../domain/fulfilment';
import type { LineQuantity } from '../domain/order';
import { recordFulfilment } from '../services/fulfilment/fulfilments';
import { BusinessRuleError } from '../domain/errors';
import type { LocationAllocation } from '../domain/order';
import { allocationOf, reservedBy, reserve, settleReservation, writeOff } from '../services/inventory/ledger';
import type { Warehouse } from '../services/warehouse/warehouse';

/**
 * A cancel's outcome: stopped, or too late (it has left). Stopped after a short pick, with the units
 * found missing (orders' histories from before hold the bare word).
 */
export type CancelOutcome = 'cancelled' | 'too_late' | { outcome: 'cancelled'; missing: LineQuantity[] };

export function fulfilmentActivities({ db, warehouse }: { db: Knex; warehouse?: Warehouse }) {
  return {
    /**
     * Asks a location to send these units, under the id the warehouse dedupes by: a retry after a
     * lost answer finds the first request. Recorded as requested first, so a request stuck at the
     * warehouse shows among the stalled ones.
     */
    async requestFulfilment(args: {
      orderId: string;
      location: string;
      items: LineQuantity[];
      round?: number;
    }) {
      if (!warehouse) throw new Error('no warehouse is configured (WAREHOUSE_URL)');
      const { round, ...request } = args;
      const id = fulfilmentId(args.orderId, args.location, round);
      await recordFulfilment(db, { id, ...request, status: 'requested' }, new Date().toISOString());
      const record = await warehouse.request({ id, ...request });
      await recordFulfilment(db, record, new Date().toISOString());
      return record;
    },

    /** Asks the warehouse to stop a fulfilment (an order cancelled after the hand-off); recorded when it did. */
    async cancelFulfilment(args: {
      orderId: string;
      location: string;
      /** A later round's id (orders from before rounds were known name the location only). */
      id?: string;
      /** The caller takes units found short (workflow code that knows the answer's object form). */
      reportMissing?: boolean;
    }): Promise<CancelOutcome> {
      if (!warehouse) throw new Error('no warehouse is configured (WAREHOUSE_URL)');
      const id = args.id ?? fulfilmentId(args.orderId, args.location);
      const answer = await warehouse.cancel(id);
      if (answer === 'too_late') return answer;
      await recordFulfilment(
        db,
        { id, orderId: args.orderId, location: args.location, status: 'cancelled', items: [] },
        new Date().toISOString(),
      );
      // Units its pick found short are not on the shelf: the cancel's restock must not count them.
      const missing = missingUnits(answer);
      return missing.length > 0 && args.reportMissing ? { outcome: 'cancelled', missing } : 'cancelled';
    },

    /** Asks the carrier to bring back a parcel that has left (its order was cancelled): where it stands. */
    async recallFulfilment(args: { id: string }): Promise<FulfilmentRecord> {
      if (!warehouse) throw new Error('no warehouse is configured (WAREHOUSE_URL)');
      return warehouse.recall(args.id);
    },

    /**
     * A short pick at `location`: the missing units are written off there, then taken from other
     * locations if any has them (reserved and sold at once: the order was paid). Answers where they
     * went (null: nowhere had them) and the order's allocation now. One transaction; idempotent by `tag`.
     */
    async shortPicked(args: { orderId: string; location: string; missing: LineQuantity[]; tag: string }) {
      return db.transaction(async (trx) => {
        await writeOff(trx, args.orderId, args.location, args.missing, args.tag);
        let moved: LocationAllocation[] | null = null;
        try {
          await trx.transaction(async (savepoint) => {
            await reserve(savepoint, args.orderId, args.missing, `moved:${args.tag}`, [args.location]);
            // Exactly the units just reserved, sold: no other reservation of the order with them.
            await settleReservation(savepoint, args.orderId, `moved:${args.tag}`, 'commit');
          });
          moved = await reservedBy(trx, args.orderId, `moved:${args.tag}`);
        } catch (err) {
          if (!(err instanceof BusinessRuleError && err.code === 'OUT_OF_STOCK')) throw err;
        }
        return { moved, allocation: await allocationOf(trx, args.orderId) };
      });
    },

    /** The warehouse's news of a fulfilment, in the order center (a status only moves forward). */
    async recordFulfilment(args: { record: FulfilmentRecord; at: string }): Promise<void> {
      await recordFulfilment(db, args.record, args.at);
    },
  };
}
