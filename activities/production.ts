/** Production: the job that makes the goods (manufacture) or delivers them (a digital code). */
import type { Knex } from 'knex';
import { openProductionJob } from '../services/production/jobs';

export function productionActivities({ db }: { db: Knex }) {
  return {
    async openProduction(args: { orderId: string; kind: 'manufacture' | 'digital_code' }) {
      return openProductionJob(db, args.orderId, args.kind);
    },
  };
}
