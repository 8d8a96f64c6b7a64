/**
 * Recomputes each stock level's counters from the ledger and compares them with the cached ones:
 * per (sku, location), the books balance when on_hand = Σadjust + Σrestock − Σcommit and
 * reserved = Σreserve − Σrelease − Σcommit, nothing is negative and nothing more is restocked than sold;
 * and sums each order's own movements, for the per-order rules.
 */
import type { Knex } from 'knex';

export interface StockAudit {
  sku: string;
  location: string;
  onHand: number;
  reserved: number;
  sold: number;
  restocked: number;
  ledgerOnHand: number;
  ledgerReserved: number;
  balanced: boolean;
}

export async function auditStock(db: Knex, skus?: string[]): Promise<StockAudit[]> {
  const q = db('stock_levels as s')
    .leftJoin('stock_movements as m', function () {
      this.on('m.sku', 's.sku').andOn('m.location_id', 's.location_id');
    })
    .groupBy('s.sku', 's.location_id', 's.on_hand', 's.reserved')
    .orderBy(['s.sku', 's.location_id'])
    .select(
      's.sku',
      's.location_id',
      's.on_hand',
      's.reserved',
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'adjust'), 0)::int AS adjusted`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'restock'), 0)::int AS restocked`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'commit'), 0)::int AS sold`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'reserve'), 0)::int AS reserves`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'release'), 0)::int AS releases`),
    );
  if (skus) q.whereIn('s.sku', skus);
  const rows = await q;
  return rows.map((r) => {
    const ledgerOnHand = r.adjusted + r.restocked - r.sold;
    const ledgerReserved = r.reserves - r.releases - r.sold;
    return {
      sku: r.sku,
      location: r.location_id,
      onHand: r.on_hand,
      reserved: r.reserved,
      sold: r.sold,
      restocked: r.restocked,
      ledgerOnHand,
      ledgerReserved,
      balanced:
        ledgerOnHand === r.on_hand &&
        ledgerReserved === r.reserved &&
        r.on_hand >= 0 &&
        r.reserved >= 0 &&
        r.reserved <= r.on_hand &&
        r.restocked <= r.sold,
    };
  });
}

/** One order's movements at one (sku, location), summed by kind. */
export interface OrderStockAudit {
  orderId: string;
  sku: string;
  location: string;
  reserved: number;
  released: number;
  sold: number;
  restocked: number;
  lost: number;
}

/** Which orders' movements an audit reads: by order, by SKU, or all. */
export interface MovementScope {
  orderIds?: string[];
  skus?: string[];
}

/** Orders' stock movements in scope: the one place that scope is read. */
export function orderMovements(db: Knex, scope: MovementScope = {}): Knex.QueryBuilder {
  const q = db('stock_movements').whereNotNull('order_id');
  if (scope.orderIds) q.whereIn('order_id', scope.orderIds);
  if (scope.skus) q.whereIn('sku', scope.skus);
  return q;
}

/**
 * Each order's own books, per (sku, location): the level's balance above can hold while one
 * order sells what another reserved, or puts back more than it sold. The rules on these figures
 * (what an order may have released, sold, restocked, still hold) are audit/invariants.ts's.
 */
export async function auditOrderStock(db: Knex, scope: MovementScope = {}): Promise<OrderStockAudit[]> {
  const q = orderMovements(db, scope)
    .groupBy('order_id', 'sku', 'location_id')
    .orderBy(['order_id', 'sku', 'location_id'])
    .select(
      'order_id',
      'sku',
      'location_id',
      ...(['reserve', 'release', 'commit', 'restock', 'loss'] as const).map((kind) =>
        db.raw(`COALESCE(SUM(quantity) FILTER (WHERE kind = ?), 0)::int AS ??`, [kind, kind]),
      ),
    );
  const rows = await q;
  return rows.map((r) => ({
    orderId: r.order_id,
    sku: r.sku,
    location: r.location_id,
    reserved: r.reserve,
    released: r.release,
    sold: r.commit,
    restocked: r.restock,
    lost: r.loss,
  }));
}
