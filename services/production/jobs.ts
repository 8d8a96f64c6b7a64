/** Production: opening a job for physical goods, a code for digital ones. Idempotent per order. */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { VendorRefusedError, type CodeVendor } from './code-vendor';

/**
 * A digital order's code comes from the vendor when there is one (by the order's id: a retry gets
 * the same code), else is made here. A retry finds the first job and returns its code.
 */
export async function openProductionJob(
  db: Knex,
  orderId: string,
  kind: 'manufacture' | 'digital_code',
  vendor?: CodeVendor,
): Promise<{ deliveryCode: string | null }> {
  // A manufacture job has no code: one statement, a retry's insert does nothing.
  if (kind === 'manufacture') {
    await db('production_jobs')
      .insert({ order_id: orderId, kind, delivery_code: null })
      .onConflict('order_id')
      .ignore();
    return { deliveryCode: null };
  }
  const existing = await db('production_jobs').where('order_id', orderId).first('delivery_code');
  if (existing) return { deliveryCode: existing.delivery_code };
  const code =
    kind !== 'digital_code'
      ? null
      : vendor
        ? await vendor.issue({ id: orderId, orderId })
        : createHash('sha256')
            .update(orderId)
            .update(randomBytes(16))
            .digest('hex')
            .slice(0, 16)
            .toUpperCase();
  await db('production_jobs')
    .insert({ order_id: orderId, kind, delivery_code: code })
    .onConflict('order_id')
    .ignore();
  const row = await db('production_jobs').where('order_id', orderId).first('delivery_code');
  return { deliveryCode: row.delivery_code };
}

/**
 * The order's digital code can no longer be redeemed (the order was refunded in full): at the
 * vendor, then here. Idempotent. With `refusalIsAnswer`, a vendor that declines to void it (422: a
 * code already redeemed) is final: the code is left as it is and the caller told (`refused`), so
 * that the refund is recorded all the same and support sees what was kept, rather than asked for
 * ever. Any other refusal (credentials, a request it cannot read) is thrown, and retried.
 */
export async function voidDeliveryCode(
  db: Knex,
  orderId: string,
  at: string,
  vendor?: CodeVendor,
  refusalIsAnswer = false,
): Promise<{ refused?: number }> {
  const job = await db('production_jobs').where('order_id', orderId).first('delivery_code', 'voided_at');
  if (!job?.delivery_code) return {};
  if (vendor && !job.voided_at) {
    try {
      await vendor.void(orderId);
    } catch (err) {
      if (refusalIsAnswer && err instanceof VendorRefusedError && err.status === 422)
        return { refused: err.status };
      throw err;
    }
  }
  await db('production_jobs')
    .where('order_id', orderId)
    .whereNotNull('delivery_code')
    .whereNull('voided_at')
    .update({ voided_at: at });
  return {};
}
