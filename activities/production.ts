/** Production: the job that makes the goods (manufacture) or delivers them (a digital code). */
import type { Knex } from 'knex';
import type { CodeVendor } from '../services/production/code-vendor';
import { openProductionJob, voidDeliveryCode } from '../services/production/jobs';

export function productionActivities({ db, codes }: { db: Knex; codes?: CodeVendor }) {
  return {
    async openProduction(args: { orderId: string; kind: 'manufacture' | 'digital_code' }) {
      return openProductionJob(db, args.orderId, args.kind, codes);
    },

    /** A full refund takes the goods back: a digital code stops working (none: nothing to do). */
    async voidDeliveryCode(args: { orderId: string; at: string }): Promise<void> {
      await voidDeliveryCode(db, args.orderId, args.at, codes);
    },
  };
}
