/** An order's own refund the payments could not give in full: what they gave, spread exactly over the plan. */
import fc from 'fast-check';
import { planAsRefunded, type RefundPlan } from '../../domain/refunds';

test('what was refunded is spread over the lines and shipping in proportion, units unchanged', () => {
  const plan: RefundPlan = {
    lines: [
      { sku: 'a', quantity: 1, amount: 3000 },
      { sku: 'b', quantity: 2, amount: 1000 },
    ],
    shipping: 800,
    amount: 4800,
    completesOrder: true,
  };
  expect(planAsRefunded(plan, 800)).toEqual({
    lines: [
      { sku: 'a', quantity: 1, amount: 500 },
      { sku: 'b', quantity: 2, amount: 167 },
    ],
    shipping: 133,
    amount: 800,
    completesOrder: true,
  });
});

test('the parts always sum to what was refunded, none above its plan', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (amounts, shipping, share) => {
        const amount = amounts.reduce((a, b) => a + b, 0) + shipping;
        const plan: RefundPlan = {
          lines: amounts.map((a, i) => ({ sku: `s${i}`, quantity: 1, amount: a })),
          shipping,
          amount,
          completesOrder: false,
        };
        const refunded = Math.floor(amount * share);
        const got = planAsRefunded(plan, refunded);
        expect(got.amount).toBe(refunded);
        expect(got.lines.reduce((a, l) => a + l.amount, 0) + got.shipping).toBe(refunded);
        got.lines.forEach((l, i) => expect(l.amount).toBeLessThanOrEqual(plan.lines[i]!.amount));
        expect(got.shipping).toBeLessThanOrEqual(shipping);
      },
    ),
  );
});
