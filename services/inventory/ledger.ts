/**
 * Stock, kept by a ledger, per location. Every movement is a row in `stock_movements` keyed by
 * (sku, location, op_key), where op_key derives from the order and the operation; the movement row
 * is inserted first, and only a newly inserted row moves the counters, so a retried call moves
 * stock once. The counters in `stock_levels` are a cache of the ledger, per (sku, location):
 *   on_hand  = Σadjust + Σrestock − Σcommit
 *   reserved = Σreserve − Σrelease − Σcommit
 * and the table's CHECK constraint refuses any write that would oversell. A product's totals are
 * the sums over its locations.
 *
 * Locks: every statement that writes a level touches rows in (sku, location) order, and a
 * reservation locks all the rows it reads in that order before writing: no two transactions can
 * wait on each other in a cycle.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { BusinessRuleError } from '../../domain/errors';
import type { LocationAllocation } from '../../domain/order';
import { allocateStock, type AllocatedUnits } from '../../domain/stock-allocation';

export interface StockLine {
  sku: string;
  quantity: number;
}

/** Where a product's stock is kept when nobody says: the location the migration created. */
export const DEFAULT_LOCATION = 'default';

/** `loss`: sold units ruined or lost after they left (a claim); it moves no counter, since they were no longer on hand. */
type Kind = 'reserve' | 'release' | 'commit' | 'restock' | 'adjust' | 'loss';

/** Units of an order at one location. */
type Placed = AllocatedUnits;

/** Inserts the movement; false when this op_key already moved this sku at this location (a retry). */
async function record(db: Knex, kind: Kind, units: Placed, orderId: string | null, opKey: string) {
  const rows = await db('stock_movements')
    .insert({
      sku: units.sku,
      location_id: units.location,
      order_id: orderId,
      op_key: opKey,
      kind,
      quantity: units.quantity,
    })
    .onConflict(['sku', 'location_id', 'op_key'])
    .ignore()
    .returning('id');
  return rows.length === 1;
}

/** The stock ledger's advisory locks' first key ('stoc'). */
const STOCK_LOCKS = 0x73746f63;

/**
 * Whether a move that places units by what it finds (a reservation by what is free, a release, a
 * restock or a write-off by what the order still holds) was made under this key already. Attempts of the same move wait for each other (a lock held to the
 * end of the transaction), so one still running cannot be missed by its retry.
 */
async function doneOnce(trx: Knex.Transaction, orderId: string, opKey: string): Promise<boolean> {
  return (await movedUnder(trx, orderId, opKey)).size > 0;
}

/** The SKUs moved under this key already, read under the same lock as `doneOnce`'s. */
async function movedUnder(trx: Knex.Transaction, orderId: string, opKey: string): Promise<Set<string>> {
  // Two keys: the stock ledger's own space, apart from other advisory locks (webhooks, stats).
  await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [STOCK_LOCKS, opKey]);
  const rows: { sku: string }[] = await trx('stock_movements')
    .where({ order_id: orderId, op_key: opKey })
    .distinct('sku');
  return new Set(rows.map((r) => r.sku));
}

/** Moves one level's counters by these amounts. */
function move(db: Knex, units: Placed, change: { onHand?: number; reserved?: number }) {
  return db('stock_levels')
    .where({ sku: units.sku, location_id: units.location })
    .update({
      ...(change.onHand ? { on_hand: db.raw('on_hand + ?', [change.onHand]) } : {}),
      ...(change.reserved ? { reserved: db.raw('reserved + ?', [change.reserved]) } : {}),
      updated_at: db.fn.now(),
    });
}

/** Sorted by (sku, location) so that concurrent orders lock levels in one order and cannot deadlock. */
const inLockOrder = (units: Placed[]) =>
  [...units].sort((a, b) =>
    a.sku === b.sku
      ? a.location < b.location
        ? -1
        : a.location > b.location
          ? 1
          : 0
      : a.sku < b.sku
        ? -1
        : 1,
  );

/**
 * Holds stock for an order, allocated to the fewest locations that can serve it
 * (domain/stock-allocation.ts). The levels of every sku involved are locked first, so the figures
 * the allocation reads are the ones it writes. Must run in a transaction, so that a shortage
 * undoes everything; a retry (same tag), even one running beside it, moves nothing.
 */
export async function reserve(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
  /** Locations not to take from (one that turned out short). */
  exclude: string[] = [],
): Promise<void> {
  if (lines.length === 0) return;
  const opKey = `${orderId}:reserve:${tag}`;
  // An attempt still running holds the key: one that started later (its answer was slow) waits,
  // then finds its movements, rather than reserving the units again at the next location.
  if (await doneOnce(trx, orderId, opKey)) return;
  const rows: { sku: string; location_id: string; free: number; priority: number }[] = await trx(
    'stock_levels as s',
  )
    .join('locations as l', 'l.id', 's.location_id')
    .whereIn(
      's.sku',
      lines.map((l) => l.sku),
    )
    .whereNotIn('s.location_id', exclude)
    .orderBy([{ column: 's.sku' }, { column: 's.location_id' }])
    .forUpdate('s')
    .select('s.sku', 's.location_id', trx.raw('s.on_hand - s.reserved AS free'), 'l.priority');
  const available = new Map<string, Map<string, number>>();
  const priorities = new Map<string, number>();
  for (const r of rows) {
    priorities.set(r.location_id, r.priority);
    const at = available.get(r.location_id) ?? new Map<string, number>();
    at.set(r.sku, r.free);
    available.set(r.location_id, at);
  }
  const allocation = allocateStock(
    lines,
    [...priorities].map(([id, priority]) => ({ id, priority })),
    available,
  );
  if (!allocation.ok)
    throw new BusinessRuleError('OUT_OF_STOCK', 'not enough stock (sku)', { sku: allocation.sku });
  for (const units of inLockOrder(allocation.units)) {
    if (await record(trx, 'reserve', units, orderId, opKey))
      await move(trx, units, { reserved: units.quantity });
  }
}

/**
 * An order's net movements of one kind less others, per sku and location, from the ledger: what
 * it holds in reservation, has sold, has taken. Sorted by sku, then location rank.
 */
async function netOf(
  db: Knex,
  orderId: string,
  plus: Kind,
  minus: Kind[],
): Promise<(Placed & { priority: number })[]> {
  const rows: { sku: string; location_id: string; priority: number; net: number }[] = await db(
    'stock_movements as m',
  )
    .join('locations as l', 'l.id', 'm.location_id')
    .where('m.order_id', orderId)
    .whereIn('m.kind', [plus, ...minus])
    .groupBy('m.sku', 'm.location_id', 'l.priority')
    .orderBy([{ column: 'm.sku' }, { column: 'l.priority' }, { column: 'm.location_id' }])
    .select(
      'm.sku',
      'm.location_id',
      'l.priority',
      db.raw(`SUM(CASE WHEN m.kind = ? THEN m.quantity ELSE -m.quantity END)::int AS net`, [plus]),
    );
  return rows
    .filter((r) => r.net > 0)
    .map((r) => ({ sku: r.sku, location: r.location_id, priority: r.priority, quantity: r.net }));
}

/** What an order still holds in reservation. */
const outstandingReservations = (db: Knex, orderId: string) =>
  netOf(db, orderId, 'reserve', ['release', 'commit']);

/**
 * What an order has sold and still has to account for, best-ranked location first: not put back,
 * and not lost (a claim's units are nobody's to restock, lose or write off again).
 */
const soldAt = (db: Knex, orderId: string) => netOf(db, orderId, 'commit', ['restock', 'loss']);

/**
 * Spreads each line over the places that have its sku, in the order given, never more than each
 * has. A sku named on several lines is taken as one line: each place once, under the one key of
 * the movement (taken per line, both lines would take the same place, and the second be a retry).
 */
function takeFrom(places: Placed[], lines: StockLine[]): Placed[] {
  const wanted = new Map<string, number>();
  for (const line of lines) wanted.set(line.sku, (wanted.get(line.sku) ?? 0) + line.quantity);
  const taken: Placed[] = [];
  for (const [sku, total] of wanted) {
    let left = total;
    for (const place of places.filter((p) => p.sku === sku)) {
      if (left <= 0) break;
      const quantity = Math.min(left, place.quantity);
      taken.push({ ...place, quantity });
      left -= quantity;
    }
  }
  return taken;
}

/** Gives back whatever the order holds. Idempotent by `tag`. */
export async function releaseAll(trx: Knex.Transaction, orderId: string, tag: string): Promise<void> {
  for (const units of inLockOrder(await outstandingReservations(trx, orderId))) {
    if (await record(trx, 'release', units, orderId, `${orderId}:release:${tag}`))
      await move(trx, units, { reserved: -units.quantity });
  }
}

/** Turns the order's reservations into sales (stock leaves on_hand). Idempotent by `tag`. */
export async function commitAll(trx: Knex.Transaction, orderId: string, tag: string): Promise<void> {
  for (const units of inLockOrder(await outstandingReservations(trx, orderId))) {
    if (await record(trx, 'commit', units, orderId, `${orderId}:commit:${tag}`))
      await move(trx, units, { reserved: -units.quantity, onHand: -units.quantity });
  }
}

/** What one reservation (by its tag) took, per sku and location. */
const takenBy = async (trx: Knex.Transaction, orderId: string, tag: string): Promise<Placed[]> =>
  (await reservedBy(trx, orderId, tag)).flatMap(({ location, items }) =>
    items.map((i) => ({ sku: i.sku, location, quantity: i.quantity })),
  );

/**
 * Sells exactly what one reservation (by its tag) took, where it took it; or (`release`) gives it
 * back. Idempotent by `tag`; a reservation is sold or given back, never both.
 */
export async function settleReservation(
  trx: Knex.Transaction,
  orderId: string,
  tag: string,
  outcome: 'commit' | 'release',
): Promise<void> {
  const other = outcome === 'commit' ? 'release' : 'commit';
  if (
    await trx('stock_movements')
      .where({ order_id: orderId, op_key: `${orderId}:${other}:${tag}` })
      .first('id')
  )
    return;
  for (const units of inLockOrder(await takenBy(trx, orderId, tag))) {
    if (await record(trx, outcome, units, orderId, `${orderId}:${outcome}:${tag}`))
      await move(
        trx,
        units,
        outcome === 'commit'
          ? { reserved: -units.quantity, onHand: -units.quantity }
          : { reserved: -units.quantity },
      );
  }
}

/**
 * Sold units ruined or lost after they left (a claim of damaged goods): recorded as a loss where
 * they were sold from, best-ranked first. No counter moves (they were no longer on hand); the
 * books say what became of them. Done once by `tag`.
 */
export async function recordLoss(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
): Promise<void> {
  // Done once by its tag, as a restock is: a retry would find the units it lost no longer sold
  // and record the loss again at the next location.
  if (await doneOnce(trx, orderId, `${orderId}:loss:${tag}`)) return;
  for (const units of inLockOrder(takeFrom(await soldAt(trx, orderId), lines)))
    await record(trx, 'loss', units, orderId, `${orderId}:loss:${tag}`);
}

/** What an order has sold and not yet put back, per sku. */
export async function soldNotRestocked(db: Knex, orderId: string): Promise<StockLine[]> {
  const totals = new Map<string, number>();
  for (const p of await soldAt(db, orderId)) totals.set(p.sku, (totals.get(p.sku) ?? 0) + p.quantity);
  return [...totals].map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * Puts sold goods back on hand (a cancel before shipping, a received return) where they were sold
 * from: at `location` first when the goods are known to be back there (a parcel returned to its
 * sender), then best-ranked first; never more than was sold. Done once by its tag, wherever the
 * units went: a retry after a commit whose answer was lost would find the places it restocked no
 * longer sold, and put the same units back elsewhere.
 */
export async function restock(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
  location?: string,
): Promise<void> {
  if (await doneOnce(trx, orderId, `${orderId}:restock:${tag}`)) return;
  await restockUnits(trx, orderId, lines, `${orderId}:restock:${tag}`, location);
}

/** `restock`'s moves under `opKey`, for a caller that has made sure they were not made before. */
async function restockUnits(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  opKey: string,
  location?: string,
): Promise<void> {
  const sold = await soldAt(trx, orderId);
  const places = location
    ? [...sold.filter((p) => p.location === location), ...sold.filter((p) => p.location !== location)]
    : sold;
  for (const units of inLockOrder(takeFrom(places, lines))) {
    if (await record(trx, 'restock', units, orderId, opKey))
      await move(trx, units, { onHand: units.quantity });
  }
}

/**
 * Puts back everything the order sold, except units still out at their location (a parcel asked
 * back from the carrier: restocked there when it arrives). Idempotent by `tag`.
 */
export async function restockAllBut(
  trx: Knex.Transaction,
  orderId: string,
  out: LocationAllocation[],
  tag: string,
): Promise<void> {
  const kept = new Map<string, number>();
  for (const { location, items } of out)
    for (const i of items)
      kept.set(`${i.sku} ${location}`, (kept.get(`${i.sku} ${location}`) ?? 0) + i.quantity);
  for (const sold of inLockOrder(await soldAt(trx, orderId))) {
    const units = { ...sold, quantity: sold.quantity - (kept.get(`${sold.sku} ${sold.location}`) ?? 0) };
    if (units.quantity > 0 && (await record(trx, 'restock', units, orderId, `${orderId}:restock:${tag}`)))
      await move(trx, units, { onHand: units.quantity });
  }
}

/**
 * Gives back exactly these lines (bounded by what the order holds), from the worst-ranked location
 * first, so what stays is where the allocation would put it. Idempotent by `tag`.
 */
export async function release(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
): Promise<void> {
  // Where it takes from depends on what is held, which an earlier attempt changed: a SKU given
  // back under this key is not given back again (a key reused for other SKUs still gives those).
  const done = await movedUnder(trx, orderId, `${orderId}:release:${tag}`);
  const held = (await outstandingReservations(trx, orderId)).reverse();
  const todo = lines.filter((l) => !done.has(l.sku));
  for (const units of inLockOrder(takeFrom(held, todo))) {
    if (await record(trx, 'release', units, orderId, `${orderId}:release:${tag}`))
      await move(trx, units, { reserved: -units.quantity });
  }
}

/**
 * A warehouse found fewer units than the ledger said: the missing ones are no longer this order's
 * sale (restocked at `location`) and are written off there (an adjustment of minus as many), so on
 * hand stays as it was and the books say what happened. Idempotent by `tag`.
 */
export async function writeOff(
  trx: Knex.Transaction,
  orderId: string,
  location: string,
  lines: StockLine[],
  tag: string,
): Promise<void> {
  if (await doneOnce(trx, orderId, `${orderId}:writeoff:${tag}`)) return;
  await writeOffAt(trx, orderId, location, lines, tag);
}

/** `writeOff`'s moves at one location (one of several under the same tag: `writeOffSold`). */
async function writeOffAt(
  trx: Knex.Transaction,
  orderId: string,
  location: string,
  lines: StockLine[],
  tag: string,
): Promise<void> {
  await restockUnits(trx, orderId, lines, `${orderId}:restock:writeoff:${tag}`, location);
  for (const line of [...lines].sort((a, b) => (a.sku < b.sku ? -1 : 1))) {
    const units = { sku: line.sku, location, quantity: -line.quantity };
    if (await record(trx, 'adjust', units, orderId, `${orderId}:writeoff:${tag}`))
      await move(trx, units, { onHand: -line.quantity });
  }
}

/**
 * Sold units that came back unsellable (a return received damaged): written off where they were
 * sold from, best-ranked first, so they are neither on sale again nor this order's sale any more;
 * only at these locations when `at` names some (units a location refused to send, refunded).
 * Idempotent by `tag`: once written off, a retry moves nothing, wherever the order's units are now.
 */
export async function writeOffSold(
  trx: Knex.Transaction,
  orderId: string,
  lines: StockLine[],
  tag: string,
  at?: string[],
): Promise<void> {
  if (await doneOnce(trx, orderId, `${orderId}:writeoff:${tag}`)) return;
  const byLocation = new Map<string, StockLine[]>();
  const sold = (await soldAt(trx, orderId)).filter((p) => !at || at.includes(p.location));
  for (const units of takeFrom(sold, lines))
    byLocation.set(units.location, [
      ...(byLocation.get(units.location) ?? []),
      { sku: units.sku, quantity: units.quantity },
    ]);
  for (const [location, items] of [...byLocation].sort(([a], [b]) => (a < b ? -1 : 1)))
    await writeOffAt(trx, orderId, location, items, tag);
}

/** What one reservation (by tag) took, per location. */
export async function reservedBy(db: Knex, orderId: string, tag: string): Promise<LocationAllocation[]> {
  const rows: { location_id: string; sku: string; quantity: number }[] = await db('stock_movements')
    .where({ order_id: orderId, op_key: `${orderId}:reserve:${tag}` })
    .orderBy(['location_id', 'sku'])
    .select('location_id', 'sku', 'quantity');
  const byLocation = new Map<string, StockLine[]>();
  for (const r of rows)
    byLocation.set(r.location_id, [
      ...(byLocation.get(r.location_id) ?? []),
      { sku: r.sku, quantity: r.quantity },
    ]);
  return [...byLocation].map(([location, items]) => ({ location, items }));
}

/**
 * Sets a product's on-hand stock at one location (catalogue PUT), recording the difference as an
 * adjustment. Under a request's own key (`requestKey`, from its Idempotency-Key) the adjustment is
 * recorded even when nought: a request set under its key before (a retry of one that committed)
 * sets nothing again, and is not refused for what happened since. Without one, a random key.
 */
export async function setOnHand(
  trx: Knex.Transaction,
  sku: string,
  location: string,
  onHand: number,
  requestKey: string | undefined,
): Promise<void> {
  const opKey = `adjust:${requestKey ?? randomUUID()}`;
  // A location that never held the product gets a level only when it is given some.
  if (onHand > 0)
    await trx('stock_levels')
      .insert({ sku, location_id: location })
      .onConflict(['sku', 'location_id'])
      .ignore();
  const row = await trx('stock_levels')
    .where({ sku, location_id: location })
    .forUpdate()
    .first('on_hand', 'reserved');
  if (!row) return;
  if (await trx('stock_movements').where({ sku, location_id: location, op_key: opKey }).first('id')) return;
  const delta = onHand - row.on_hand;
  if (onHand < row.reserved) {
    throw new BusinessRuleError(
      'OUT_OF_STOCK',
      `${row.reserved} units are reserved; stock cannot go below that`,
      { sku, location, reserved: row.reserved },
    );
  }
  if (delta === 0 && requestKey === undefined) return;
  const units = { sku, location, quantity: delta };
  if ((await record(trx, 'adjust', units, null, opKey)) && delta !== 0)
    await move(trx, units, { onHand: delta });
}

/**
 * Where an order's units come from: per location (best-ranked first), what it took and has not
 * given back (Σreserve − Σrelease − Σrestock). Sold units stay allocated: they ship from there.
 */
export async function allocationOf(db: Knex, orderId: string): Promise<LocationAllocation[]> {
  const taken = await netOf(db, orderId, 'reserve', ['release', 'restock']);
  taken.sort(
    (p, q) => p.priority - q.priority || (p.location < q.location ? -1 : p.location > q.location ? 1 : 0),
  );
  const byLocation = new Map<string, StockLine[]>();
  for (const p of taken)
    byLocation.set(p.location, [...(byLocation.get(p.location) ?? []), { sku: p.sku, quantity: p.quantity }]);
  return [...byLocation].map(([location, items]) => ({ location, items }));
}
