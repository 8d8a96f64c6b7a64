/**
 * Keyset pages for the lists beside the order center's (./orders/list-orders.ts pages those): a
 * page ends at its last row's sort key, and the next starts after it, one statement per page. The
 * cursor is that key, opaque to clients (base64url JSON) and checked part by part when it comes
 * back: anything this service did not give out is a client's error, never a query.
 */
import type { Knex } from 'knex';
import { ID_PATTERN } from '../domain/text';

/** What a part of a list's sort key is: an id, an integer, or an instant to the microsecond. */
export type KeyPart = 'id' | 'int' | 'instant';
export type KeyValue = string | number;

/** As `instantKeySql` writes it, in the years a row's date can have. */
const INSTANT = /^[2-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * An instant column as a key part, to the microsecond: PostgreSQL keeps microseconds, and a key cut
 * to the millisecond would skip (or repeat) rows written in the same millisecond.
 */
export const instantKeySql = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export const encodeKey = (key: KeyValue[]) => Buffer.from(JSON.stringify(key)).toString('base64url');

/** A cursor of a list whose key has these parts, or null. */
export function parseKey(text: string, parts: readonly KeyPart[]): KeyValue[] | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return null;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(key) || key.length !== parts.length) return null;
  const fits = parts.every((part, i) => {
    const value: unknown = key[i];
    if (part === 'int') return Number.isSafeInteger(value);
    if (typeof value !== 'string') return false;
    if (part === 'id') return ID_PATTERN.test(value);
    return INSTANT.test(value) && Number.isFinite(Date.parse(value));
  });
  return fits ? (key as KeyValue[]) : null;
}

/** A list's page: where it starts (after `cursor`) and how long it is. */
export interface PageQuery {
  limit: number;
  cursor?: KeyValue[];
}

/**
 * Orders `q` by `columns` (all one way) and reads one row more than the page, after the cursor's
 * key when there is one. The columns must make a row's key unique.
 */
export function keysetPage(
  q: Knex.QueryBuilder,
  columns: string[],
  order: 'asc' | 'desc',
  page: PageQuery,
  /** SQL casts for the key's parts (`::timestamptz` for an instant), by position. */
  casts: string[] = [],
): Knex.QueryBuilder {
  if (page.cursor) {
    const values = columns.map((_, i) => `?${casts[i] ?? ''}`).join(', ');
    q.whereRaw(`(${columns.join(', ')}) ${order === 'asc' ? '>' : '<'} (${values})`, page.cursor);
  }
  return q.orderBy(columns.map((column) => ({ column, order }))).limit(page.limit + 1);
}

/** The page's items and, when more rows follow, the cursor of its last. */
export function pageOf<R, T>(rows: R[], page: PageQuery, keyOf: (row: R) => KeyValue[], view: (row: R) => T) {
  const last = rows.length > page.limit ? rows[page.limit - 1] : undefined;
  return { items: rows.slice(0, page.limit).map(view), nextCursor: last ? encodeKey(keyOf(last)) : null };
}
