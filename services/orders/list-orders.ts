/**
 * Listing orders with filters and keyset pagination on (created_at, id): each page is one index
 * range scan, however deep the caller pages.
 */
import type { Knex } from 'knex';
import type { OrderState } from '../../domain/order';
import { loadOrder } from './read-order';

export interface ListQuery {
  status?: string;
  type?: string;
  customerId?: string;
  limit: number;
  cursor?: string;
}

interface Cursor {
  createdAt: string;
  id: string;
}

const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decode(text: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString());
    return typeof c?.createdAt === 'string' &&
      typeof c?.id === 'string' &&
      !Number.isNaN(Date.parse(c.createdAt))
      ? c
      : null;
  } catch {
    return null;
  }
}

export async function listOrders(
  db: Knex,
  query: ListQuery,
): Promise<{ items: OrderState[]; nextCursor: string | null }> {
  const q = db('orders').select('id', 'created_at');
  if (query.status) q.where('status', query.status);
  if (query.type) q.where('type', query.type);
  if (query.customerId) q.where('customer_id', query.customerId);
  const cursor = query.cursor ? decode(query.cursor) : null;
  if (cursor) q.whereRaw('(created_at, id) < (?, ?)', [cursor.createdAt, cursor.id]);
  const rows: { id: string; created_at: Date }[] = await q
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const items = (await Promise.all(page.map((r) => loadOrder(db, r.id)))).filter(
    (o): o is OrderState => o !== null,
  );
  const last = page[page.length - 1];
  return {
    items,
    nextCursor:
      rows.length > query.limit && last
        ? encode({ createdAt: last.created_at.toISOString(), id: last.id })
        : null,
  };
}
