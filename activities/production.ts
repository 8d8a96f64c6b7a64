/** Production: the job that makes the goods (manufacture) or delivers them (a digital code). */
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { FailureType } from '../domain/errors';
import { VendorRefusedError, type CodeVendor } from '../services/production/code-vendor';
import { openProductionJob, voidDeliveryCode } from '../services/production/jobs';

export function productionActivities({ db, codes }: { db: Knex; codes?: CodeVendor }) {
  return {
    /**
     * A code the vendor refuses is a non-retryable failure when the workflow takes it (`refusalIsFinal`:
     * it then asks again later); for workflow code from before, retried as any failure.
     */
    async openProduction(args: {
      orderId: string;
      kind: 'manufacture' | 'digital_code';
      refusalIsFinal?: boolean;
    }) {
      try {
        return await openProductionJob(db, args.orderId, args.kind, codes);
      } catch (err) {
        if (!(err instanceof VendorRefusedError) || !args.refusalIsFinal) throw err;
        throw ApplicationFailure.create({
          type: FailureType.VendorRefused,
          message: err.message,
          nonRetryable: true,
          details: [{ status: err.status }],
        });
      }
    },

    /**
     * A full refund takes the goods back: a digital code stops working (none: nothing to do). The
     * vendor declining to void it is an answer (`refused`) when the workflow takes one
     * (`refusalIsAnswer`); for workflow code from before, which would take it as voided, it is
     * retried as any failure.
     */
    async voidDeliveryCode(args: {
      orderId: string;
      at: string;
      refusalIsAnswer?: boolean;
    }): Promise<{ refused?: number }> {
      return voidDeliveryCode(db, args.orderId, args.at, codes, args.refusalIsAnswer === true);
    },
  };
}
