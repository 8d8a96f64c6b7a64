/** Stock locations (warehouses, shops) and a product's stock at each; merchants and support write them. */
import type { Knex } from 'knex';
import { keysetPage, pageResult, type PageQuery } from '../paging';
import { NotFoundError } from '../../domain/errors';
import { setOnHand } from './ledger';

export interface LocationInput {
  name: string;
  /** A rank: 0 ships before 1 when as few locations can serve an order either way. */
  priority: number;
}

export interface Location extends LocationInput {
  id: string;
  updatedAt: string;
}

const toLocation = (row: { id: string; name: string; priority: number; updated_at: Date }): Location => ({
  id: row.id,
  name: row.name,
  priority: row.priority,
  updatedAt: new Date(row.updated_at).toISOString(),
});

/** Creates or replaces a location; true if it was created. */
export async function putLocation(db: Knex, id: string, input: LocationInput): Promise<boolean> {
  const rows = await db('locations')
    .insert({ id, name: input.name, priority: input.priority })
    .onConflict('id')
    .merge({ name: input.name, priority: input.priority, updated_at: db.fn.now() })
    .returning(db.raw('(xmax = 0) AS inserted'));
  return Boolean((rows[0] as { inserted?: boolean })?.inserted);
}

export async function readLocation(db: Knex, id: string): Promise<Location> {
  const row = await db('locations').where('id', id).first();
  if (!row) throw new NotFoundError(`location ${id}`);
  return toLocation(row);
}

/** A page of the locations, best-ranked first. */
export async function listLocations(db: Knex, page: PageQuery) {
  const rows = await keysetPage(db('locations'), ['priority', 'id'], 'asc', page);
  return pageResult(rows, page, 'locations', (row) => [row.priority, row.id], toLocation);
}

/** Sets a product's on-hand stock at one location; the ledger records the difference. */
/** `requestId`: the request's own id (from its Idempotency-Key): a rerun of one that committed sets nothing again (ledger.ts `setOnHand`). */
export async function putStockLevel(
  db: Knex,
  sku: string,
  location: string,
  onHand: number,
  requestId?: string,
): Promise<void> {
  await db.transaction(async (trx) => {
    if (!(await trx('products').where('sku', sku).first('sku'))) throw new NotFoundError(`product ${sku}`);
    if (!(await trx('locations').where('id', location).first('id')))
      throw new NotFoundError(`location ${location}`);
    await setOnHand(trx, sku, location, onHand, requestId);
  });
}

export interface StockFigures {
  onHand: number;
  reserved: number;
  available: number;
}

/** A product's stock: totals, and the figures at each location that has held it, best-ranked first. */
export async function stockOf(
  db: Knex,
  sku: string,
): Promise<StockFigures & { locations: (StockFigures & { location: string })[] }> {
  const rows: { location_id: string; on_hand: number; reserved: number }[] = await db('stock_levels as s')
    .join('locations as l', 'l.id', 's.location_id')
    .where('s.sku', sku)
    .orderBy([{ column: 'l.priority' }, { column: 's.location_id' }])
    .select('s.location_id', 's.on_hand', 's.reserved');
  const locations = rows.map((r) => ({
    location: r.location_id,
    onHand: r.on_hand,
    reserved: r.reserved,
    available: r.on_hand - r.reserved,
  }));
  const sum = (pick: (l: StockFigures) => number) => locations.reduce((a, l) => a + pick(l), 0);
  return {
    onHand: sum((l) => l.onHand),
    reserved: sum((l) => l.reserved),
    available: sum((l) => l.available),
    locations,
  };
}
