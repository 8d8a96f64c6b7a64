/** Fulfilment: requests to the warehouse, one per order and stock location, and the order center's record of each. */
import type { Knex } from 'knex';
import { fulfilmentId, type FulfilmentRecord } from '../domain/fulfilment';
import type { LineQuantity } from '../domain/order';
import { recordFulfilment } from '../services/fulfilment/fulfilments';
import type { Warehouse } from '../services/warehouse/warehouse';

export function fulfilmentActivities({ db, warehouse }: { db: Knex; warehouse?: Warehouse }) {
  return {
    /**
     * Asks a location to send these units, under the id the warehouse dedupes by: a retry after a
     * lost answer finds the first request. Recorded as requested first, so a request stuck at the
     * warehouse shows among the stalled ones.
     */
    async requestFulfilment(args: { orderId: string; location: string; items: LineQuantity[] }) {
      if (!warehouse) throw new Error('no warehouse is configured (WAREHOUSE_URL)');
      const id = fulfilmentId(args.orderId, args.location);
      await recordFulfilment(db, { id, ...args, status: 'requested' }, new Date().toISOString());
      const record = await warehouse.request({ id, ...args });
      await recordFulfilment(db, record, new Date().toISOString());
      return record;
    },

    /** Asks the warehouse to stop a fulfilment (an order cancelled after the hand-off); recorded when it did. */
    async cancelFulfilment(args: { orderId: string; location: string }): Promise<'cancelled' | 'too_late'> {
      if (!warehouse) throw new Error('no warehouse is configured (WAREHOUSE_URL)');
      const id = fulfilmentId(args.orderId, args.location);
      const outcome = await warehouse.cancel(id);
      if (outcome === 'cancelled')
        await recordFulfilment(
          db,
          { id, orderId: args.orderId, location: args.location, status: 'cancelled', items: [] },
          new Date().toISOString(),
        );
      return outcome;
    },

    /** The warehouse's news of a fulfilment, in the order center (a status only moves forward). */
    async recordFulfilment(args: { record: FulfilmentRecord; at: string }): Promise<void> {
      await recordFulfilment(db, args.record, args.at);
    },
  };
}
