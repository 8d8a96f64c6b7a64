/**
 * Keyset pages for the lists beside the order center's (./orders/list-orders.ts pages those): a
 * page ends at its last row's sort key, and the next starts after it, one statement per page. The
 * cursor is the list's name and that key, opaque to clients (base64url JSON) and checked part by
 * part when it comes back: anything this service did not give out for that list is a client's
 * error, never a query (nor a value PostgreSQL would refuse: a 500).
 */
import type { Knex } from 'knex';

/**
 * What a part of a list's sort key is: an id (letters, digits and `. _ : -`: the ids this service
 * keeps, a fulfilment's `<order>:<location>:<round>` the longest), an integer column's value, or
 * an instant to the microsecond.
 */
export type KeyPart = 'id' | 'int' | 'instant';
export type KeyValue = string | number;

const KEY_ID = /^[A-Za-z0-9._:-]{1,250}$/;
/** PostgreSQL's `integer`: the keys' integer columns (sequences, ranks). */
const INT4 = { min: -2_147_483_648, max: 2_147_483_647 };
/** As `instantKeySql` writes it, in the years a row's date can have. */
const INSTANT = /^[2-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A real instant (no 30 February): what its first 23 characters say, JavaScript says back. */
const realInstant = (value: string) => {
  const at = Date.parse(value);
  return Number.isFinite(at) && new Date(at).toISOString().slice(0, 23) === value.slice(0, 23);
};

/**
 * An instant column as a key part, to the microsecond: PostgreSQL keeps microseconds, and a key cut
 * to the millisecond would skip (or repeat) rows written in the same millisecond.
 */
export const instantKeySql = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Each paged list, by the name its cursors carry, with its sort key's parts. */
export const LISTS = {
  events: ['int'], // an order's, by sequence
  deliveries: ['instant', 'id', 'int'], // a webhook's, newest first: created, order, sequence
  webhooks: ['id'],
  channels: ['id'],
  locations: ['int', 'id'], // best-ranked first
  stalledFulfilments: ['instant', 'id'], // oldest news first
} as const satisfies Record<string, readonly KeyPart[]>;
export type ListName = keyof typeof LISTS;

/** A list's cursor: its name, then its key. */
export const encodeKey = (list: ListName, key: KeyValue[]) =>
  Buffer.from(JSON.stringify([list, ...key])).toString('base64url');

/** The key of a cursor this service gave out for `list`, or null. */
export function parseKey(text: string, list: ListName): KeyValue[] | null {
  const parts: readonly KeyPart[] = LISTS[list];
  if (!/^[A-Za-z0-9_-]{1,500}$/.test(text)) return null;
  let cursor: unknown;
  try {
    cursor = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(cursor) || cursor.length !== parts.length + 1 || cursor[0] !== list) return null;
  const key: unknown[] = cursor.slice(1);
  const fits = parts.every((part, i) => {
    const value = key[i];
    if (part === 'int')
      return Number.isInteger(value) && (value as number) >= INT4.min && (value as number) <= INT4.max;
    if (typeof value !== 'string') return false;
    if (part === 'id') return KEY_ID.test(value);
    return INSTANT.test(value) && realInstant(value);
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

/** The page's items and, when more rows follow, the cursor (of `list`) of its last. */
export function pageResult<R, T>(
  rows: R[],
  page: PageQuery,
  list: ListName,
  keyOf: (row: R) => KeyValue[],
  view: (row: R) => T,
) {
  const last = rows.length > page.limit ? rows[page.limit - 1] : undefined;
  return {
    items: rows.slice(0, page.limit).map(view),
    nextCursor: last ? encodeKey(list, keyOf(last)) : null,
  };
}
