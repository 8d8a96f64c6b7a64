/**
 * Recomputes each product's counters from the ledger and compares them with the cached ones:
 * the books balance when on_hand = Σadjust + Σrestock − Σcommit and
 * reserved = Σreserve − Σrelease − Σcommit, and nothing is negative.
 */
import type { Knex } from 'knex';

export interface StockAudit {
  sku: string;
  onHand: number;
  reserved: number;
  sold: number;
  restocked: number;
  ledgerOnHand: number;
  ledgerReserved: number;
  balanced: boolean;
}

export async function auditStock(db: Knex, skus?: string[]): Promise<StockAudit[]> {
  const q = db('products as p')
    .leftJoin('stock_movements as m', 'm.sku', 'p.sku')
    .groupBy('p.sku', 'p.on_hand', 'p.reserved')
    .select(
      'p.sku',
      'p.on_hand',
      'p.reserved',
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'adjust'), 0)::int AS adjusted`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'restock'), 0)::int AS restocked`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'commit'), 0)::int AS sold`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'reserve'), 0)::int AS reserves`),
      db.raw(`COALESCE(SUM(m.quantity) FILTER (WHERE m.kind = 'release'), 0)::int AS releases`),
    );
  if (skus) q.whereIn('p.sku', skus);
  const rows = await q;
  return rows.map((r) => {
    const ledgerOnHand = r.adjusted + r.restocked - r.sold;
    const ledgerReserved = r.reserves - r.releases - r.sold;
    return {
      sku: r.sku,
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
