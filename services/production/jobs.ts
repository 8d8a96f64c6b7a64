/** Production: opening a job for physical goods, issuing a code for digital ones. Idempotent per order. */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export async function openProductionJob(
  db: Knex,
  orderId: string,
  kind: 'manufacture' | 'digital_code',
): Promise<{ deliveryCode: string | null }> {
  const code =
    kind === 'digital_code'
      ? createHash('sha256').update(orderId).update(randomBytes(16)).digest('hex').slice(0, 16).toUpperCase()
      : null;
  await db('production_jobs')
    .insert({ order_id: orderId, kind, delivery_code: code })
    .onConflict('order_id')
    .ignore();
  // A retry finds the first job and returns its code, never a second one.
  const row = await db('production_jobs').where('order_id', orderId).first('delivery_code');
  return { deliveryCode: row.delivery_code };
}

/** The order's digital code can no longer be redeemed (the order was refunded in full); idempotent. */
export async function voidDeliveryCode(db: Knex, orderId: string, at: string): Promise<void> {
  await db('production_jobs')
    .where('order_id', orderId)
    .whereNotNull('delivery_code')
    .whereNull('voided_at')
    .update({ voided_at: at });
}
