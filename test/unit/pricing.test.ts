/** Pricing is exact to the minor unit: property tests over random carts, and hand-checked cases. */
import { presaleDeposit } from '../../domain/order';
import fc from 'fast-check';
import { allocate } from '../../domain/allocate';
import { priceOrder, type Promotion } from '../../domain/pricing';

const line = fc.record({
  sku: fc.string({ minLength: 1, maxLength: 5 }),
  name: fc.constant('x'),
  unitPrice: fc.integer({ min: 0, max: 1_000_000 }),
  quantity: fc.integer({ min: 1, max: 50 }),
});
const promotion: fc.Arbitrary<Promotion> = fc.oneof(
  fc.record({
    code: fc.constant('P'),
    kind: fc.constant('percent' as const),
    value: fc.integer({ min: 1, max: 100 }),
  }),
  fc.record({
    code: fc.constant('F'),
    kind: fc.constant('fixed' as const),
    value: fc.integer({ min: 0, max: 5_000_000 }),
  }),
  fc.record({
    code: fc.constant('T'),
    kind: fc.constant('threshold' as const),
    value: fc.integer({ min: 0, max: 100_000 }),
    minSubtotal: fc.integer({ min: 0, max: 2_000_000 }),
  }),
);

test('allocation: parts are integers that sum exactly and follow the weights', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 20 }),
      (amount, weights) => {
        const parts = allocate(amount, weights);
        const total = weights.reduce((a, b) => a + b, 0);
        expect(parts.every(Number.isSafeInteger)).toBe(true);
        if (total === 0) return expect(parts.every((p) => p === 0)).toBe(true);
        expect(parts.reduce((a, b) => a + b, 0)).toBe(amount);
        parts.forEach((p, i) => expect(Math.abs(p - (amount * weights[i]!) / total)).toBeLessThan(1));
      },
    ),
  );
});

test('for random carts and promotions, line totals plus shipping equal the order total, and nothing is negative', () => {
  fc.assert(
    fc.property(
      fc.array(line, { minLength: 1, maxLength: 10 }),
      fc.option(promotion),
      fc.constantFrom('standard', 'silver', 'gold' as const),
      fc.boolean(),
      (lines, promo, tier, physical) => {
        const priced = priceOrder({
          lines,
          promotion: promo,
          memberTier: tier as 'standard',
          shipsPhysically: physical,
        });
        const { amounts } = priced;
        const sum = priced.lines.reduce((a, l) => a + l.total, 0);
        expect(sum + amounts.shipping).toBe(amounts.total);
        expect(amounts.subtotal - amounts.discount + amounts.shipping).toBe(amounts.total);
        expect(priced.discounts.reduce((a, d) => a + d.amount, 0)).toBe(amounts.discount);
        for (const l of priced.lines) {
          expect(l.total).toBeGreaterThanOrEqual(0);
          expect(l.discount).toBeLessThanOrEqual(l.subtotal);
          expect(Number.isSafeInteger(l.total) && Number.isSafeInteger(l.discount)).toBe(true);
        }
        for (const v of Object.values(amounts)) expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
        if (!physical) expect(amounts.shipping).toBe(0);
      },
    ),
  );
});

test('hand-checked: 10% off two lines, a gold member, shipping free above the threshold', () => {
  const priced = priceOrder({
    lines: [
      { sku: 'a', name: 'A', unitPrice: 3333, quantity: 3 }, // 9999
      { sku: 'b', name: 'B', unitPrice: 1, quantity: 1 }, // 1
    ],
    promotion: { code: 'TEN', kind: 'percent', value: 10 },
    memberTier: 'gold',
    shipsPhysically: true,
  });
  // 10000 − 1000 (10%) = 9000; gold 5% of 9000 = 450; 8550 ≥ 9900? no: shipping 800.
  expect(priced.amounts).toEqual({ subtotal: 10000, discount: 1450, shipping: 800, total: 9350 });
  expect(priced.discounts).toEqual([
    { source: 'promotion', code: 'TEN', amount: 1000 },
    { source: 'member', code: 'gold', amount: 450 },
  ]);
  // 1450 over weights 9999 : 1 → 1449.855 and 0.145: the leftover unit goes to the larger remainder.
  expect(priced.lines.map((l) => [l.discount, l.total])).toEqual([
    [1450, 8549],
    [0, 1],
  ]);
});

test('hand-checked: a threshold promotion applies only from its minimum, a fixed one never below zero', () => {
  const lines = [{ sku: 'a', name: 'A', unitPrice: 2500, quantity: 2 }];
  const threshold: Promotion = { code: 'T', kind: 'threshold', value: 700, minSubtotal: 5000 };
  expect(priceOrder({ lines, promotion: threshold, shipsPhysically: false }).amounts.total).toBe(4300);
  expect(
    priceOrder({ lines, promotion: { ...threshold, minSubtotal: 5001 }, shipsPhysically: false }).amounts
      .total,
  ).toBe(5000);
  expect(
    priceOrder({ lines, promotion: { code: 'F', kind: 'fixed', value: 99999 }, shipsPhysically: false })
      .amounts,
  ).toMatchObject({
    discount: 5000,
    total: 0,
  });
});

test("a presale's deposit after a modification: as placed per unit, or, for orders placed before that was kept, in proportion to the goods kept", () => {
  const terms = { deposit: 2500, balanceStartsAt: 'a', balanceEndsAt: 'b' };
  const before = [
    { sku: 'a', quantity: 2, unitPrice: 4000 },
    { sku: 'b', quantity: 1, unitPrice: 1000 },
  ];
  const after = [
    { sku: 'a', quantity: 1, unitPrice: 4000 },
    { sku: 'b', quantity: 1, unitPrice: 1000 },
  ];
  expect(presaleDeposit({ ...terms, depositPerUnit: { a: 1000, b: 500 } }, before, after)).toBe(1500);
  // 2500 over 9000 of goods, 5000 kept: 1388.9, rounded down, never more than was committed.
  expect(presaleDeposit(terms, before, after)).toBe(1388);
  expect(presaleDeposit(terms, before, before)).toBe(2500);
  // A map without a kept SKU: in proportion, not that SKU's deposit taken as none.
  expect(presaleDeposit({ ...terms, depositPerUnit: { a: 1000 } }, before, after)).toBe(1388);
});
