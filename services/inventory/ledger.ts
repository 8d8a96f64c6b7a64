/**
 * Stock, kept by a ledger. Every movement is a row in `stock_movements` keyed by (sku, op_key),
 * where op_key derives from the order and the operation; the movement row is inserted first, and
 * only a newly inserted row moves the counters, so a retried call moves stock once. The counters
 * on `products` are a cache of the ledger:
 *   on_hand  = Σadjust + Σrestock − Σcommit
 *   reserved = Σreserve − Σrelease − Σcommit
 * and the table's CHECK constraint refuses any write that would oversell.
 */
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';

export interface StockLine {
  sku: string;
  quantity: number;
}

type Kind = 'reserve' | 'release' | 'commit' | 'restock' | 'adjust';

/** Inserts the movement; false when this op_key already moved this sku (a retry). */
async function record(
  db: Knex,
  kind: Kind,
  sku: string,
  orderId: string | null,
  opKey: string,
  quantity: number,
) {
  const rows = await db('stock_movements')
    .insert({ sku, order_id: orderId, op_key: opKey, kind, quantity })
    .onConflict(['sku', 'op_key'])
    .ignore()
    .returning('id');
  return rows.length === 1;
}

/** Sorted by sku so that concurrent multi-line orders lock products in one order and cannot deadlock. */
const bySku = (lines: StockLine[]) => [...lines].sort((a, b) => a.sku.localeCompare(b.sku));

/**
 * Holds stock for an order. One conditional UPDATE per line: no read-then-write, so a hot SKU is
 * held only for the duration of that statement's row lock. Must run in a transaction, so that a
 * later line's shortage undoes the earlier lines.
 */
export async function reserve(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
): Promise<void> {
  for (const line of bySku(lines)) {
    if (!(await record(trx, 'reserve', line.sku, orderId, `${orderId}:reserve:${tag}`, line.quantity)))
      continue;
    const updated = await trx('products')
      .where('sku', line.sku)
      .andWhereRaw('on_hand - reserved >= ?', [line.quantity])
      .update({ reserved: trx.raw('reserved + ?', [line.quantity]), updated_at: trx.fn.now() });
    if (updated === 0)
      throw new BusinessRuleError('OUT_OF_STOCK', 'not enough stock (sku)', { sku: line.sku });
  }
}

/** What an order still holds in reservation, per sku, from the ledger. */
export async function outstandingReservations(db: Knex, orderId: string): Promise<StockLine[]> {
  const rows: { sku: string; held: number }[] = await db('stock_movements')
    .where('order_id', orderId)
    .whereIn('kind', ['reserve', 'release', 'commit'])
    .groupBy('sku')
    .select('sku', db.raw(`SUM(CASE WHEN kind = 'reserve' THEN quantity ELSE -quantity END)::int AS held`));
  return rows.filter((r) => r.held > 0).map((r) => ({ sku: r.sku, quantity: r.held }));
}

/** Gives back whatever the order holds. Idempotent by `tag`. */
export async function releaseAll(trx: Knex.Transaction, orderId: string, tag: string): Promise<StockLine[]> {
  const held = await outstandingReservations(trx, orderId);
  for (const line of bySku(held)) {
    if (!(await record(trx, 'release', line.sku, orderId, `${orderId}:release:${tag}`, line.quantity)))
      continue;
    await trx('products')
      .where('sku', line.sku)
      .update({ reserved: trx.raw('reserved - ?', [line.quantity]), updated_at: trx.fn.now() });
  }
  return held;
}

/** Turns the order's reservations into sales (stock leaves on_hand). Idempotent by `tag`. */
export async function commitAll(trx: Knex.Transaction, orderId: string, tag: string): Promise<StockLine[]> {
  const held = await outstandingReservations(trx, orderId);
  for (const line of bySku(held)) {
    if (!(await record(trx, 'commit', line.sku, orderId, `${orderId}:commit:${tag}`, line.quantity)))
      continue;
    await trx('products')
      .where('sku', line.sku)
      .update({
        reserved: trx.raw('reserved - ?', [line.quantity]),
        on_hand: trx.raw('on_hand - ?', [line.quantity]),
        updated_at: trx.fn.now(),
      });
  }
  return held;
}

/** What an order has sold and not yet put back, per sku. */
export async function soldNotRestocked(db: Knex, orderId: string): Promise<StockLine[]> {
  const rows: { sku: string; sold: number }[] = await db('stock_movements')
    .where('order_id', orderId)
    .whereIn('kind', ['commit', 'restock'])
    .groupBy('sku')
    .select('sku', db.raw(`SUM(CASE WHEN kind = 'commit' THEN quantity ELSE -quantity END)::int AS sold`));
  return rows.filter((r) => r.sold > 0).map((r) => ({ sku: r.sku, quantity: r.sold }));
}

/** Puts sold goods back on hand (a cancel before shipping, a received return), never more than was sold. */
export async function restock(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
): Promise<void> {
  const sold = new Map((await soldNotRestocked(trx, orderId)).map((l) => [l.sku, l.quantity]));
  for (const line of bySku(lines)) {
    const quantity = Math.min(line.quantity, sold.get(line.sku) ?? 0);
    if (quantity <= 0) continue;
    if (!(await record(trx, 'restock', line.sku, orderId, `${orderId}:restock:${tag}`, quantity))) continue;
    await trx('products')
      .where('sku', line.sku)
      .update({ on_hand: trx.raw('on_hand + ?', [quantity]), updated_at: trx.fn.now() });
  }
}

/** Sets a product's on-hand stock (catalogue PUT), recording the difference as an adjustment. */
export async function setOnHand(
  trx: Knex.Transaction,
  sku: string,
  onHand: number,
  opKey: string,
): Promise<void> {
  const row = await trx('products').where('sku', sku).forUpdate().first('on_hand', 'reserved');
  if (!row) throw new Error('no such product');
  const delta = onHand - row.on_hand;
  if (delta === 0) return;
  if (onHand < row.reserved) {
    throw new BusinessRuleError(
      'OUT_OF_STOCK',
      `${row.reserved} units are reserved; stock cannot go below that`,
      {
        sku,
        reserved: row.reserved,
      },
    );
  }
  await record(trx, 'adjust', sku, null, opKey, delta);
  await trx('products').where('sku', sku).update({ on_hand: onHand, updated_at: trx.fn.now() });
}

/** Gives back exactly these lines (bounded by what the order holds). Idempotent by `tag`. */
export async function release(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
): Promise<void> {
  const held = new Map((await outstandingReservations(trx, orderId)).map((l) => [l.sku, l.quantity]));
  for (const line of bySku(lines)) {
    const quantity = Math.min(line.quantity, held.get(line.sku) ?? 0);
    if (quantity <= 0) continue;
    if (!(await record(trx, 'release', line.sku, orderId, `${orderId}:release:${tag}`, quantity))) continue;
    await trx('products')
      .where('sku', line.sku)
      .update({ reserved: trx.raw('reserved - ?', [quantity]), updated_at: trx.fn.now() });
  }
}
