/**
 * Listing orders with filters and keyset pagination on (created_at, id): each page is one index
 * range scan, however deep the caller pages, and one statement, however many orders it holds.
 */
import type { Knex } from 'knex';
import type { OrderState } from '../../domain/order';
import { ID_PATTERN } from '../../domain/text';
import { selectOrders, toOrder } from './read-order';

export interface ListQuery {
  status?: string;
  type?: string;
  customerId?: string;
  limit: number;
  cursor?: Cursor;
}

/** Where the previous page ended: opaque to clients (base64url JSON), checked strictly when it comes back. */
export interface Cursor {
  createdAt: string;
  id: string;
}

const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

/** A cursor this service gave out, or null: anything else is a client's error, never a query. */
export function parseCursor(text: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return null;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!c || typeof c !== 'object' || Array.isArray(c)) return null;
    const { createdAt, id, ...rest } = c as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || typeof createdAt !== 'string' || typeof id !== 'string') return null;
    // Exactly what toISOString() wrote, and a real instant (PostgreSQL's range is wider than ours).
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(createdAt)) return null;
    const at = Date.parse(createdAt);
    if (!Number.isFinite(at) || new Date(at).toISOString() !== createdAt) return null;
    return ID_PATTERN.test(id) ? { createdAt, id } : null;
  } catch {
    return null;
  }
}

export async function listOrders(
  db: Knex,
  query: ListQuery,
): Promise<{ items: OrderState[]; nextCursor: string | null }> {
  // One statement per page: the orders with their lines and history (./read-order.ts).
  const q = selectOrders(db);
  if (query.status) q.where('o.status', query.status);
  if (query.type) q.where('o.type', query.type);
  if (query.customerId) q.where('o.customer_id', query.customerId);
  const cursor = query.cursor;
  if (cursor) q.whereRaw('(o.created_at, o.id) < (?, ?)', [cursor.createdAt, cursor.id]);
  const rows = await q
    .orderBy([
      { column: 'o.created_at', order: 'desc' },
      { column: 'o.id', order: 'desc' },
    ])
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const items = page.map(toOrder);
  const last = page[page.length - 1];
  return {
    items,
    nextCursor:
      rows.length > query.limit && last
        ? encode({ createdAt: last.created_at.toISOString(), id: last.id })
        : null,
  };
}
