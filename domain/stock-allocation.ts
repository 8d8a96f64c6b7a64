/**
 * Where an order's units come from: the fewest locations that can serve every line, ties by the
 * locations' priorities (a rank: 0 before 1), then by id. Each line then ships whole from the
 * best-ranked chosen location that has all of it, or is filled from the chosen locations in that
 * order when none has. Pure: the ledger (services/inventory/ledger.ts) reads the figures
 * under lock and writes what this decides.
 */

export interface StockLocation {
  id: string;
  priority: number;
}

/** Units free to take, per location, per sku. */
export type Availability = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface AllocatedUnits {
  location: string;
  sku: string;
  quantity: number;
}

/** Beyond this many candidate locations, subsets are not all tried: a greedy cover is taken instead. */
const EXHAUSTIVE_UP_TO = 12;

export type AllocationResult = { ok: true; units: AllocatedUnits[] } | { ok: false; sku: string };

export function allocateStock(
  lines: readonly { sku: string; quantity: number }[],
  locations: readonly StockLocation[],
  available: Availability,
): AllocationResult {
  const wanted = new Map<string, number>();
  for (const l of lines) wanted.set(l.sku, (wanted.get(l.sku) ?? 0) + l.quantity);
  const free = (location: string, sku: string) => Math.max(0, available.get(location)?.get(sku) ?? 0);

  for (const [sku, quantity] of wanted) {
    const total = locations.reduce((a, l) => a + free(l.id, sku), 0);
    if (total < quantity) return { ok: false, sku };
  }
  if (wanted.size === 0) return { ok: true, units: [] };

  const ranked = [...locations]
    .filter((l) => [...wanted.keys()].some((sku) => free(l.id, sku) > 0))
    .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const covers = (chosen: readonly StockLocation[]) =>
    [...wanted].every(([sku, q]) => chosen.reduce((a, l) => a + free(l.id, sku), 0) >= q);

  const chosen =
    ranked.length <= EXHAUSTIVE_UP_TO ? smallestCover(ranked, covers) : greedyCover(ranked, wanted, free);
  const units: AllocatedUnits[] = [];
  for (const [sku, quantity] of wanted) {
    // The best-ranked chosen location that has all of the line ships it whole.
    const whole = chosen.find((l) => free(l.id, sku) >= quantity);
    if (whole) {
      units.push({ location: whole.id, sku, quantity });
      continue;
    }
    let left = quantity;
    for (const location of chosen) {
      if (left === 0) break;
      const take = Math.min(left, free(location.id, sku));
      if (take > 0) units.push({ location: location.id, sku, quantity: take });
      left -= take;
    }
  }
  return { ok: true, units };
}

/**
 * Subsets by size, each size's combinations in rank order (lexicographic over the ranked list), so
 * the first that covers is among the smallest and, of those, the best ranked.
 */
function smallestCover(
  ranked: readonly StockLocation[],
  covers: (chosen: readonly StockLocation[]) => boolean,
): StockLocation[] {
  for (let size = 1; size <= ranked.length; size++) {
    const picked: number[] = [];
    const search = (from: number): StockLocation[] | null => {
      if (picked.length === size) {
        const chosen = picked.map((i) => ranked[i]!);
        return covers(chosen) ? chosen : null;
      }
      for (let i = from; i <= ranked.length - (size - picked.length); i++) {
        picked.push(i);
        const found = search(i + 1);
        picked.pop();
        if (found) return found;
      }
      return null;
    };
    const found = search(0);
    if (found) return found;
  }
  return [...ranked]; // unreachable: the totals were checked to cover every line
}

/** Many locations: repeatedly the one that serves most of what is still missing, ties by rank. */
function greedyCover(
  ranked: readonly StockLocation[],
  wanted: ReadonlyMap<string, number>,
  free: (location: string, sku: string) => number,
): StockLocation[] {
  const missing = new Map(wanted);
  const chosen: StockLocation[] = [];
  while ([...missing.values()].some((q) => q > 0)) {
    let best: StockLocation | undefined;
    let bestServes = 0;
    for (const l of ranked) {
      if (chosen.includes(l)) continue;
      const serves = [...missing].reduce((a, [sku, q]) => a + Math.min(q, free(l.id, sku)), 0);
      if (serves > bestServes) {
        best = l;
        bestServes = serves;
      }
    }
    if (!best) break;
    chosen.push(best);
    for (const [sku, q] of missing) missing.set(sku, q - Math.min(q, free(best.id, sku)));
  }
  // Filled in rank order like an exhaustive pick.
  return ranked.filter((l) => chosen.includes(l));
}
