/**
 * Counts and sums of orders per group and currency, for the dashboards other modules build
 * (amounts add up within one currency only). Whole UTC days of the window come from the daily
 * rollup PostgreSQL keeps (migrations/023_order_stats_rollup.ts: folded rows plus changes not yet
 * folded); only the partial days at its ends are counted from the orders themselves. A month is
 * then a few thousand rollup rows, not a hundred thousand orders, and still exact.
 */
import type { Knex } from 'knex';

export type StatsGroup = 'status' | 'type' | 'channel' | 'paymentStatus' | 'day';

/** The group's key over the rollup's columns and over an order's. */
const GROUPS: Record<StatsGroup, { rollup: string; orders: string }> = {
  status: { rollup: 'status', orders: 'status' },
  type: { rollup: 'type', orders: 'type' },
  channel: { rollup: 'channel', orders: 'channel' },
  paymentStatus: { rollup: 'payment_status', orders: 'payment_status' },
  // Days in UTC, as the API's instants are.
  day: {
    rollup: `to_char(day, 'YYYY-MM-DD')`,
    orders: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  },
};

const DAY = 86_400_000;

export interface StatsRow {
  key: string;
  currency: string;
  count: number;
  total: number;
  paid: number;
  refunded: number;
}

interface Window {
  /** Whole days from the rollup: [from, to), either end open. */
  days?: { from?: string; to?: string };
  /** Instants counted from the orders: [from, to), `to` open only past the last whole day. */
  partial: { from: string; to?: string }[];
}

/** Where the API's instants end (year 9999): no whole day starts there for the rollup to hold. */
const END_OF_INSTANTS = Date.UTC(10000, 0, 1);

/** Splits [from, to) into the whole UTC days inside it and the partial days at its ends. */
export function splitWindow(from?: string, to?: string): Window {
  const iso = (ms: number) => new Date(ms).toISOString();
  const start = from === undefined ? undefined : Date.parse(from);
  const end = to === undefined ? undefined : Date.parse(to);
  const firstDay = start === undefined ? undefined : Math.ceil(start / DAY) * DAY;
  const lastDay = end === undefined ? undefined : Math.floor(end / DAY) * DAY;
  // From within the last day on, with no end: the rest of that day alone.
  if (end === undefined && firstDay !== undefined && firstDay >= END_OF_INSTANTS)
    return { partial: [{ from: from! }] };
  if (firstDay !== undefined && lastDay !== undefined && firstDay >= lastDay)
    return { partial: start! < end! ? [{ from: from!, to: to! }] : [] };
  const partial: Window['partial'] = [];
  if (start !== undefined && start < firstDay!) partial.push({ from: from!, to: iso(firstDay!) });
  if (end !== undefined && lastDay! < end) partial.push({ from: iso(lastDay!), to: to! });
  const days = {
    ...(firstDay === undefined ? {} : { from: iso(firstDay).slice(0, 10) }),
    ...(lastDay === undefined ? {} : { to: iso(lastDay).slice(0, 10) }),
  };
  return { days, partial };
}

export async function orderStats(
  db: Knex,
  query: { groupBy: StatsGroup; createdFrom?: string; createdTo?: string },
): Promise<StatsRow[]> {
  const key = GROUPS[query.groupBy];
  const window = splitWindow(query.createdFrom, query.createdTo);
  const parts: Knex.QueryBuilder[] = [];
  if (window.days)
    for (const table of ['order_stats_daily', 'order_stats_changes']) {
      const q = db(table).select(
        db.raw(`${key.rollup} AS key`),
        'currency',
        'count',
        'total',
        'paid',
        'refunded',
      );
      if (window.days.from) q.where('day', '>=', window.days.from);
      if (window.days.to) q.where('day', '<', window.days.to);
      parts.push(q);
    }
  for (const { from, to } of window.partial)
    parts.push(
      db('orders')
        .select(
          db.raw(`${key.orders} AS key`),
          db.raw('trim(currency) AS currency'),
          db.raw('1 AS count'),
          'total',
          'paid',
          'refunded',
        )
        .where('created_at', '>=', from)
        .modify((q) => (to === undefined ? q : q.where('created_at', '<', to))),
    );
  if (parts.length === 0) return [];
  const rows: StatsRow[] = await db
    .select(
      'key',
      'currency',
      db.raw('sum(count)::bigint AS count'),
      db.raw('sum(total)::bigint AS total'),
      db.raw('sum(paid)::bigint AS paid'),
      db.raw('sum(refunded)::bigint AS refunded'),
    )
    .from(parts[0]!.unionAll(parts.slice(1), true).as('s'))
    .groupBy('key', 'currency')
    // A key whose orders all moved elsewhere has changes that cancel out: no group.
    .havingRaw('sum(count) <> 0')
    .orderBy(['key', 'currency']);
  return rows.map((r) => ({
    ...r,
    count: Number(r.count),
    total: Number(r.total),
    paid: Number(r.paid),
    refunded: Number(r.refunded),
  }));
}

/**
 * Moves the changes written so far into the daily rollup, in one statement (a change is summed
 * once: the delete that takes it is the insert that adds it). One folder at a time; another that
 * finds the lock taken has nothing to do. Returns the change rows folded.
 */
export async function foldOrderStats(db: Knex): Promise<number> {
  return db.transaction(async (trx) => {
    const { rows } = await trx.raw(`SELECT pg_try_advisory_xact_lock(hashtext('order_stats_fold')) AS got`);
    if (!rows[0].got) return 0;
    const keys = 'day, status, type, channel, payment_status, currency';
    const folded = await trx.raw(`
      WITH moved AS (DELETE FROM order_stats_changes RETURNING *),
      summed AS (
        SELECT ${keys}, sum(count) AS count, sum(total) AS total, sum(paid) AS paid,
               sum(refunded) AS refunded, count(*) AS changes
          FROM moved GROUP BY ${keys}
      ),
      added AS (
        INSERT INTO order_stats_daily (${keys}, count, total, paid, refunded)
        SELECT ${keys}, count, total, paid, refunded FROM summed ORDER BY ${keys}
        ON CONFLICT (${keys}) DO UPDATE SET
          count = order_stats_daily.count + excluded.count,
          total = order_stats_daily.total + excluded.total,
          paid = order_stats_daily.paid + excluded.paid,
          refunded = order_stats_daily.refunded + excluded.refunded
      )
      SELECT coalesce(sum(changes), 0)::int AS changes FROM summed`);
    // Keys no order holds any longer.
    await trx.raw(
      'DELETE FROM order_stats_daily WHERE count = 0 AND total = 0 AND paid = 0 AND refunded = 0',
    );
    return folded.rows[0].changes;
  });
}
