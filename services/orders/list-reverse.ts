/**
 * The order center's lists of refunds, returns and claims, newest first, keyset-paginated on
 * (created_at, id) like the order list: one statement per page. A customer's lists hold only
 * what belongs to their orders.
 */
import type { Knex } from 'knex';
import type { ReturnRecord } from '../../domain/returns';
import { claimFromRow } from './claims-store';
import { exchangeFromRow } from './exchanges-store';
import { encodeCursor, type CursorList } from './list-orders';
import { refundFromRow, returnFromRow } from './returns-store';

export interface ReverseListQuery {
  orderId?: string;
  /** Only this customer's (of this channel, when given: a partner's `c1` is not the web shop's). */
  customerId?: string;
  channel?: string;
  createdFrom?: string;
  createdTo?: string;
  limit: number;
  cursor?: { createdAt: string; id: string };
}

function page(q: Knex.QueryBuilder, table: string, query: ReverseListQuery): Knex.QueryBuilder {
  if (query.orderId) q.where(`${table}.order_id`, query.orderId);
  if (query.createdFrom) q.where(`${table}.created_at`, '>=', query.createdFrom);
  if (query.createdTo) q.where(`${table}.created_at`, '<', query.createdTo);
  if (query.cursor)
    q.whereRaw(`(${table}.created_at, ${table}.id) < (?, ?)`, [query.cursor.createdAt, query.cursor.id]);
  return q
    .orderBy([
      { column: `${table}.created_at`, order: 'desc' },
      { column: `${table}.id`, order: 'desc' },
    ])
    .limit(query.limit + 1);
}

function paged<R extends { id: string; created_at: Date }, T>(
  rows: R[],
  limit: number,
  list: CursorList,
  view: (row: R) => T,
) {
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return {
    items: rows.slice(0, limit).map(view),
    nextCursor: last ? encodeCursor({ createdAt: last.created_at.toISOString(), id: last.id }, list) : null,
  };
}

export async function listRefunds(db: Knex, query: ReverseListQuery & { source?: string }) {
  const q = db('order_refunds as r').select('r.*');
  if (query.customerId || query.channel)
    q.whereExists(
      db('orders as o')
        .whereRaw('o.id = r.order_id')
        .modify((o) => {
          if (query.customerId) o.where('o.customer_id', query.customerId);
          if (query.channel) o.where('o.channel', query.channel);
        }),
    );
  if (query.source) q.where('r.source', query.source);
  const rows = await page(q, 'r', query);
  return paged(rows, query.limit, 'refunds', refundFromRow);
}

export async function listReturns(
  db: Knex,
  query: ReverseListQuery & { status?: string; reasonCode?: string },
) {
  const q = db('returns as t').select('t.*');
  if (query.customerId) q.where('t.customer_id', query.customerId);
  if (query.channel)
    q.whereExists(db('orders as o').whereRaw('o.id = t.order_id').where('o.channel', query.channel));
  if (query.status) q.where('t.status', query.status);
  if (query.reasonCode) q.where('t.reason_code', query.reasonCode);
  const rows = await page(q, 't', query);
  return paged(rows, query.limit, 'returns', (row): ReturnRecord => returnFromRow(row));
}

export async function listClaims(db: Knex, query: ReverseListQuery & { status?: string; kind?: string }) {
  const q = db('claims as t').select('t.*');
  if (query.customerId) q.where('t.customer_id', query.customerId);
  if (query.channel)
    q.whereExists(db('orders as o').whereRaw('o.id = t.order_id').where('o.channel', query.channel));
  if (query.status) q.where('t.status', query.status);
  if (query.kind) q.where('t.kind', query.kind);
  const rows = await page(q, 't', query);
  return paged(rows, query.limit, 'claims', claimFromRow);
}

export async function listExchanges(db: Knex, query: ReverseListQuery & { status?: string }) {
  const q = db('exchanges as t').select('t.*');
  if (query.customerId) q.where('t.customer_id', query.customerId);
  if (query.channel)
    q.whereExists(db('orders as o').whereRaw('o.id = t.order_id').where('o.channel', query.channel));
  if (query.status) q.where('t.status', query.status);
  const rows = await page(q, 't', query);
  return paged(rows, query.limit, 'exchanges', exchangeFromRow);
}

/**
 * Returns placed in a window, per reason and the currency of their orders: how many, how many
 * units, what was refunded, and how many closed without a refund (undecided, or goods never sent).
 */
export async function returnStats(db: Knex, query: { createdFrom?: string; createdTo?: string }) {
  const q = db('returns as t')
    .join('orders as o', 'o.id', 't.order_id')
    .groupBy('t.reason_code', 'o.currency')
    .orderBy([{ column: 't.reason_code' }, { column: 'o.currency' }])
    .select(
      't.reason_code',
      'o.currency',
      db.raw('count(*)::int AS returns'),
      db.raw(
        `COALESCE(sum((SELECT sum((i->>'quantity')::int) FROM jsonb_array_elements(t.items) i)), 0)::int AS units`,
      ),
      db.raw('COALESCE(sum(t.refunded_amount), 0)::bigint AS refunded'),
      db.raw(`count(*) FILTER (WHERE t.status = 'CLOSED')::int AS closed`),
    );
  if (query.createdFrom) q.where('t.created_at', '>=', query.createdFrom);
  if (query.createdTo) q.where('t.created_at', '<', query.createdTo);
  const rows: {
    reason_code: string;
    currency: string;
    returns: number;
    units: number;
    refunded: string;
    closed: number;
  }[] = await q;
  return rows.map((r) => ({
    reasonCode: r.reason_code,
    currency: r.currency.trim(),
    returns: r.returns,
    units: r.units,
    refunded: Number(r.refunded),
    closedWithoutRefund: r.closed,
  }));
}
