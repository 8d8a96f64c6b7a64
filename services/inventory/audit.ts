/**
 * Recomputes each stock level's counters from the ledger and compares them with the cached ones:
 * per (sku, location), the books balance when on_hand = Σadjust + Σrestock − Σcommit and
 * reserved = Σreserve − Σrelease − Σcommit, nothing is negative and nothing more is restocked than sold.
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
