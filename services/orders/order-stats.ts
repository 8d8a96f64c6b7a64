/**
 * Counts and sums of orders per group and currency, for the dashboards other modules build: one
 * aggregate over the orders placed in a window (amounts add up within one currency only).
 */
import type { Knex } from 'knex';

export type StatsGroup = 'status' | 'type' | 'channel' | 'paymentStatus' | 'day';

const GROUPS: Record<StatsGroup, string> = {
  status: 'status',
  type: 'type',
  channel: 'channel',
  paymentStatus: 'payment_status',
  // Days in UTC, as the API's instants are.
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
};

export interface StatsRow {
  key: string;
  currency: string;
  count: number;
  total: number;
  paid: number;
  refunded: number;
}

export async function orderStats(
  db: Knex,
  query: { groupBy: StatsGroup; createdFrom?: string; createdTo?: string },
): Promise<StatsRow[]> {
  const key = GROUPS[query.groupBy];
  const q = db('orders')
    .select(
      db.raw(`${key} AS key`),
      db.raw('trim(currency) AS currency'),
      db.raw('count(*)::bigint AS count'),
      db.raw('coalesce(sum(total), 0)::bigint AS total'),
      db.raw('coalesce(sum(paid), 0)::bigint AS paid'),
      db.raw('coalesce(sum(refunded), 0)::bigint AS refunded'),
    )
    .groupByRaw(`1, 2`)
    .orderByRaw('1, 2');
  if (query.createdFrom) q.where('created_at', '>=', query.createdFrom);
  if (query.createdTo) q.where('created_at', '<', query.createdTo);
  const rows: StatsRow[] = await q;
  return rows.map((r) => ({
    ...r,
    count: Number(r.count),
    total: Number(r.total),
    paid: Number(r.paid),
    refunded: Number(r.refunded),
  }));
}
