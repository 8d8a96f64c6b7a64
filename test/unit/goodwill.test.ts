/** Issue 21, item 5: goodwill refunds (an amount, no units), mixed with refunds of units, stay exact. */
import fc from 'fast-check';
import type { OrderLine } from '../../domain/order';
import { applyRefund, lineRefunded, planGoodwill, planRefund, RefundError } from '../../domain/refunds';

const line = (sku: string, quantity: number, total: number): OrderLine => ({
  sku,
  name: sku,
  quantity,
  unitPrice: 0,
  discount: 0,
  total,
  refundedQuantity: 0,
  inventoryStrategy: 'on_order',
});

test('allocated to the lines by what each has left, to the cent; never more than is left', () => {
  const items = [line('a', 2, 1720), line('b', 1, 2580)];
  const plan = planGoodwill(items, 1000);
  expect(plan).toEqual({
    lines: [
      { sku: 'a', quantity: 0, amount: 400 },
      { sku: 'b', quantity: 0, amount: 600 },
    ],
    shipping: 0,
    amount: 1000,
    completesOrder: false,
  });
  const after = applyRefund(items, plan);
  expect(after.map((l) => [l.refundedQuantity, l.refundedAmount])).toEqual([
    [0, 400],
    [0, 600],
  ]);
  expect(() => planGoodwill(after, 3301)).toThrow(RefundError);
  // The units then share what is left of their line: 1320 over 2 units, 1980 for the last of b.
  const rest = planRefund(after, 800, undefined);
  expect(rest.lines).toEqual([
    { sku: 'a', quantity: 2, amount: 1320 },
    { sku: 'b', quantity: 1, amount: 1980 },
  ]);
  expect(rest.amount + plan.amount).toBe(1720 + 2580 + 800);
});

test('any mix of goodwill and unit refunds gives back exactly what the order cost once everything is refunded', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          quantity: fc.integer({ min: 1, max: 20 }),
          total: fc.integer({ min: 0, max: 1_000_000 }),
        }),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
      fc.integer({ min: 0, max: 5000 }),
      fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat()), { maxLength: 12 }),
      (specs, shipping, steps) => {
        let items = specs.map((s, i) => line(`s${i}`, s.quantity, s.total));
        let refunded = 0;
        for (const [goodwill, pick, size] of steps) {
          try {
            if (goodwill) {
              const left = items.reduce((a, l) => a + l.total - lineRefunded(l), 0);
              if (left === 0) continue;
              const plan = planGoodwill(items, 1 + (size % left));
              expect(plan.lines.reduce((a, l) => a + l.amount, 0)).toBe(plan.amount);
              items = applyRefund(items, plan);
              refunded += plan.amount;
            } else {
              const l = items[pick % items.length]!;
              const units = l.quantity - l.refundedQuantity;
              if (units === 0) continue;
              const plan = planRefund(items, shipping, [{ sku: l.sku, quantity: 1 + (size % units) }]);
              items = applyRefund(items, plan);
              refunded += plan.amount;
            }
          } catch (err) {
            if (!(err instanceof RefundError)) throw err;
          }
          for (const l of items) expect(lineRefunded(l)).toBeLessThanOrEqual(l.total);
        }
        if (items.some((l) => l.refundedQuantity < l.quantity)) {
          const last = planRefund(items, shipping, undefined);
          refunded += last.amount;
          items = applyRefund(items, last);
        }
        // The refund that took the last units brought the shipping back with it.
        expect(refunded).toBe(specs.reduce((a, s) => a + s.total, 0) + shipping);
        for (const l of items) expect(lineRefunded(l)).toBe(l.total);
      },
    ),
  );
});
