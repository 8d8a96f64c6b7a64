/** The allocation rule alone: fewest locations, ties by rank, every unit placed, never more than a location has. */
import { allocateStock, type Availability, type StockLocation } from '../../domain/stock-allocation';

const stock = (figures: Record<string, Record<string, number>>): Availability =>
  new Map(Object.entries(figures).map(([l, skus]) => [l, new Map(Object.entries(skus))]));

test('one location that has everything beats two better-ranked ones', () => {
  const locations = [
    { id: 'a', priority: 0 },
    { id: 'b', priority: 1 },
    { id: 'c', priority: 2 },
  ];
  const result = allocateStock(
    [
      { sku: 'x', quantity: 2 },
      { sku: 'y', quantity: 1 },
    ],
    locations,
    stock({ a: { x: 5 }, b: { y: 5 }, c: { x: 2, y: 1 } }),
  );
  expect(result).toEqual({
    ok: true,
    units: [
      { location: 'c', sku: 'x', quantity: 2 },
      { location: 'c', sku: 'y', quantity: 1 },
    ],
  });
});

test('ties go to the better rank, then the smaller id; a line splits only when it must', () => {
  const locations = [
    { id: 'z', priority: 0 },
    { id: 'b', priority: 1 },
    { id: 'a', priority: 1 },
  ];
  expect(
    allocateStock([{ sku: 'x', quantity: 1 }], locations, stock({ z: { x: 1 }, a: { x: 9 }, b: { x: 9 } })),
  ).toEqual({
    ok: true,
    units: [{ location: 'z', sku: 'x', quantity: 1 }],
  });
  expect(
    allocateStock([{ sku: 'x', quantity: 3 }], locations, stock({ z: { x: 1 }, a: { x: 9 }, b: { x: 9 } })),
  ).toEqual({
    ok: true,
    units: [{ location: 'a', sku: 'x', quantity: 3 }],
  });
  expect(
    allocateStock([{ sku: 'x', quantity: 12 }], locations, stock({ z: { x: 1 }, a: { x: 9 }, b: { x: 9 } })),
  ).toEqual({
    ok: true,
    units: [
      { location: 'a', sku: 'x', quantity: 9 },
      { location: 'b', sku: 'x', quantity: 3 },
    ],
  });
});

test('two locations needed for two lines: a line one of them has all of ships from it whole', () => {
  const locations = [
    { id: 'l1', priority: 0 },
    { id: 'l2', priority: 1 },
  ];
  expect(
    allocateStock(
      [
        { sku: 'x', quantity: 3 },
        { sku: 'y', quantity: 1 },
      ],
      locations,
      stock({ l1: { x: 2, y: 1 }, l2: { x: 5 } }),
    ),
  ).toEqual({
    ok: true,
    units: [
      { location: 'l2', sku: 'x', quantity: 3 },
      { location: 'l1', sku: 'y', quantity: 1 },
    ],
  });
});

test('short: the sku that cannot be served is named; the same sku on two lines counts once', () => {
  const locations = [{ id: 'a', priority: 0 }];
  expect(
    allocateStock(
      [
        { sku: 'x', quantity: 2 },
        { sku: 'x', quantity: 2 },
      ],
      locations,
      stock({ a: { x: 3 } }),
    ),
  ).toEqual({
    ok: false,
    sku: 'x',
  });
  expect(allocateStock([], locations, stock({}))).toEqual({ ok: true, units: [] });
});

test('random cases: every unit placed, within each location, in as few locations as any subset allows', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    const many = round % 10 === 0; // past the exhaustive limit: the greedy cover
    const locations: StockLocation[] = Array.from({ length: many ? 20 : 1 + rand(6) }, (_, i) => ({
      id: `l${i}`,
      priority: rand(3),
    }));
    const figures: Record<string, Record<string, number>> = {};
    for (const l of locations) figures[l.id] = { x: rand(4), y: rand(4), z: rand(4) };
    const lines = ['x', 'y', 'z'].filter(() => rand(2) === 0).map((sku) => ({ sku, quantity: 1 + rand(5) }));
    const result = allocateStock(lines, locations, stock(figures));
    const total = (sku: string) => locations.reduce((a, l) => a + figures[l.id]![sku]!, 0);
    const servable = lines.every((l) => total(l.sku) >= l.quantity);
    expect(result.ok).toBe(servable);
    if (!result.ok) continue;
    for (const line of lines)
      expect(result.units.filter((u) => u.sku === line.sku).reduce((a, u) => a + u.quantity, 0)).toBe(
        line.quantity,
      );
    for (const u of result.units) expect(u.quantity).toBeLessThanOrEqual(figures[u.location]![u.sku]!);
    // A line split over locations has none among them that could ship all of it.
    const used = [...new Set(result.units.map((u) => u.location))];
    for (const line of lines) {
      const from = result.units.filter((u) => u.sku === line.sku);
      if (from.length > 1) for (const l of used) expect(figures[l]![line.sku]!).toBeLessThan(line.quantity);
    }
    if (many) continue;
    // No smaller set of locations covers the order.
    for (let mask = 1; mask < 1 << locations.length; mask++) {
      const chosen = locations.filter((_, i) => mask & (1 << i));
      if (chosen.length >= used.length) continue;
      const covers = lines.every((l) => chosen.reduce((a, c) => a + figures[c.id]![l.sku]!, 0) >= l.quantity);
      expect(covers).toBe(false);
    }
  }
});
