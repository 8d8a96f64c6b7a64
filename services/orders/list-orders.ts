/**
 * Listing orders with filters and keyset pagination on (created_at, id): each page is one index
 * range scan, however deep the caller pages, and one statement, however many orders it holds.
 */
import type { Knex } from 'knex';
import type { OrderState, PaymentStatus } from '../../domain/order';
import { ID_PATTERN } from '../../domain/text';
import { selectOrders, toOrder } from './read-order';

export type OrderSort = '-createdAt' | 'createdAt' | '-total' | 'total';

export interface ListQuery {
  status?: string;
  type?: string;
  customerId?: string;
  /** The sales channel it came through. */
  channel?: string;
  /** The order's payment in one word (domain/order.ts `paymentStatusOf`). */
  paymentStatus?: PaymentStatus;
  /** Placed at or after this instant, and before `createdTo`. */
  createdFrom?: string;
  createdTo?: string;
  /** Orders with a line of this SKU. */
  sku?: string;
  /** Totals within these bounds, in `currency` (amounts compare within one currency only). */
  currency?: string;
  minTotal?: number;
  maxTotal?: number;
  /** An order id's beginning, a customer id, or a tracking number. */
  q?: string;
  sort?: OrderSort;
  limit: number;
  cursor?: Cursor;
}

/** The list's filters, without a page: what an export or a count of the same orders takes. */
export type OrderFilters = Omit<ListQuery, 'limit' | 'cursor' | 'sort'>;

/**
 * Where the previous page ended: opaque to clients (base64url JSON), checked strictly when it
 * comes back. Its key is the sort's: the creation instant, or the total.
 */
export type Cursor = { createdAt: string; id: string } | { total: number; id: string };

/**
 * The list a cursor continues, carried in it: the order list in one of its sorts, or one of the
 * after-sales lists paged the same way (./list-reverse.ts). A cursor of another list, or of the
 * same key the other way round, is refused, not read as a place in this one.
 */
export const CURSOR_LISTS = [
  '-createdAt',
  'createdAt',
  '-total',
  'total',
  'refunds',
  'returns',
  'claims',
  'exchanges',
] as const;
export type CursorList = (typeof CURSOR_LISTS)[number];
/**
 * A cursor as it comes back: its key and the list it was given out for; a cursor given out before
 * cursors named their list (2026-12-07) has none and is read as it was then, so that a walk
 * through a list across a deploy goes on.
 */
export type ListCursor = Cursor & { of?: CursorList };

/** The column a sort orders by, and which way. */
const SORTS: Record<OrderSort, { column: 'created_at' | 'total'; order: 'asc' | 'desc' }> = {
  '-createdAt': { column: 'created_at', order: 'desc' },
  createdAt: { column: 'created_at', order: 'asc' },
  '-total': { column: 'total', order: 'desc' },
  total: { column: 'total', order: 'asc' },
};

/** Whether a cursor belongs to a sort (a page of one sort cannot continue another). */
export const cursorFits = (cursor: ListCursor, sort: OrderSort = '-createdAt') =>
  cursor.of === undefined
    ? SORTS[sort].column === ('total' in cursor ? 'total' : 'created_at')
    : cursor.of === sort;

export const encodeCursor = (c: Cursor, of: CursorList) =>
  Buffer.from(JSON.stringify({ ...c, of })).toString('base64url');

/** A cursor this service gave out, or null: anything else is a client's error, never a query. */
export function parseCursor(text: string): ListCursor | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return null;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!c || typeof c !== 'object' || Array.isArray(c)) return null;
    const { createdAt, total, id, of, ...rest } = c as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || typeof id !== 'string' || !ID_PATTERN.test(id)) return null;
    if (of !== undefined && !(CURSOR_LISTS as readonly unknown[]).includes(of)) return null;
    const list = of as CursorList | undefined;
    // The key is the list's: a total for the total sorts, the creation instant for the others.
    if (list && (total !== undefined) !== (list === 'total' || list === '-total')) return null;
    const named = list ? { of: list } : {};
    if (total !== undefined) {
      if (createdAt !== undefined || !Number.isSafeInteger(total) || (total as number) < 0) return null;
      return { total: total as number, id, ...named };
    }
    if (typeof createdAt !== 'string') return null;
    // Exactly what toISOString() wrote, a real instant, and in the years an order's date can have
    // (2000 to 9999, as the filters': PostgreSQL has no year 0).
    if (!/^[2-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(createdAt)) return null;
    const at = Date.parse(createdAt);
    if (!Number.isFinite(at) || new Date(at).toISOString() !== createdAt) return null;
    return { createdAt, id, ...named };
  } catch {
    return null;
  }
}

/** The filters on `orders as o`, for a page, an export or a count. */
export function whereOrders(db: Knex, q: Knex.QueryBuilder, query: OrderFilters): Knex.QueryBuilder {
  if (query.status) q.where('o.status', query.status);
  if (query.paymentStatus) q.where('o.payment_status', query.paymentStatus);
  if (query.type) q.where('o.type', query.type);
  if (query.customerId) q.where('o.customer_id', query.customerId);
  if (query.channel) q.where('o.channel', query.channel);
  if (query.createdFrom) q.where('o.created_at', '>=', query.createdFrom);
  if (query.createdTo) q.where('o.created_at', '<', query.createdTo);
  if (query.currency) q.where('o.currency', query.currency);
  if (query.minTotal !== undefined) q.where('o.total', '>=', query.minTotal);
  if (query.maxTotal !== undefined) q.where('o.total', '<=', query.maxTotal);
  if (query.sku)
    q.whereExists(db('order_items as i').whereRaw('i.order_id = o.id').where('i.sku', query.sku));
  if (query.q) {
    const text = query.q;
    // An order id's beginning only where it could be one: LIKE's wildcards in it are escaped.
    const prefix = ID_PATTERN.test(text) ? `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    q.where((w) =>
      w
        .where((id) => (prefix ? id.where('o.id', 'like', prefix) : id.whereRaw('false')))
        .orWhere('o.customer_id', text)
        .orWhereRaw(`o.details->'shipment'->>'trackingNumber' = ?`, [text])
        // Any parcel's, through the parcels' containment index.
        .orWhereRaw(`o.details->'shipments' @> ?::jsonb`, [JSON.stringify([{ trackingNumber: text }])]),
    );
  }
  return q;
}

/** Orders after `cursor` in `sort`, in that order: the keyset of a page or an export's batch. */
export function pageOf(
  q: Knex.QueryBuilder,
  sort: OrderSort = '-createdAt',
  cursor: Cursor | undefined,
  limit: number,
): Knex.QueryBuilder {
  const { column, order } = SORTS[sort];
  if (cursor)
    q.whereRaw(`(o.${column}, o.id) ${order === 'desc' ? '<' : '>'} (?, ?)`, [
      'total' in cursor ? cursor.total : cursor.createdAt,
      cursor.id,
    ]);
  return q
    .orderBy([
      { column: `o.${column}`, order },
      { column: 'o.id', order },
    ])
    .limit(limit);
}

/** Where a page (or batch) that ended on this row stops, in `sort`. */
export function cursorAfter(
  row: { id: string; total: number; created_at: Date },
  sort: OrderSort = '-createdAt',
): Cursor {
  return SORTS[sort].column === 'total'
    ? { total: Number(row.total), id: row.id }
    : { createdAt: row.created_at.toISOString(), id: row.id };
}

export async function listOrders(
  db: Knex,
  query: ListQuery,
): Promise<{ items: OrderState[]; nextCursor: string | null }> {
  // One statement per page: the orders with their lines and history (./read-order.ts).
  const rows = await pageOf(
    whereOrders(db, selectOrders(db), query),
    query.sort,
    query.cursor,
    query.limit + 1,
  );
  const page = rows.slice(0, query.limit);
  const items = page.map(toOrder);
  const last = page[page.length - 1];
  return {
    items,
    nextCursor:
      rows.length > query.limit && last
        ? encodeCursor(cursorAfter(last, query.sort), query.sort ?? '-createdAt')
        : null,
  };
}
