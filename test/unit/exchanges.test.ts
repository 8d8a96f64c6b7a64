/** Issue 21, item 1: the exchange's machine, checked as data, and its credits, exact in any mix with refunds. */
import fc from 'fast-check';
import {
  applyExchange,
  exchangeActions,
  exchangeCredits,
  exchangeMachine,
  owed,
  priceNewUnits,
} from '../../domain/exchanges';
import { allowedActions, decide, isTerminal, validateMachine } from '../../domain/machine';
import type { OrderLine } from '../../domain/order';
import {
  applyRefund,
  consumedUnits,
  lineRefunded,
  planGoodwill,
  planRefund,
  RefundError,
} from '../../domain/refunds';

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

test('the exchange machine is well formed: customers pay and may cancel, staff decide and move the goods', () => {
  expect(validateMachine(exchangeMachine)).toEqual([]);
  expect(allowedActions(exchangeMachine, 'REQUESTED', 'customer')).toEqual(['cancel', 'pay']);
  expect(allowedActions(exchangeMachine, 'REQUESTED', 'merchant')).toEqual(['approve', 'reject', 'cancel']);
  expect(allowedActions(exchangeMachine, 'APPROVED', 'support')).toEqual(['cancel', 'receive', 'ship']);
  // Either order: goods back then new units out, or the other way round.
  expect(decide(exchangeMachine, 'RECEIVED', 'ship', 'merchant')).toMatchObject({ ok: true });
  expect(decide(exchangeMachine, 'SHIPPED', 'receive', 'merchant')).toMatchObject({ ok: true });
  // Once goods moved, it is no longer cancelled.
  expect(decide(exchangeMachine, 'SHIPPED', 'cancel', 'customer')).toMatchObject({ ok: false });
  expect(decide(exchangeMachine, 'APPROVED', 'settle_payment', 'customer')).toMatchObject({ ok: false });
  for (const end of ['COMPLETED', 'REJECTED', 'CANCELLED'])
    expect(isTerminal(exchangeMachine, end)).toBe(true);
});

test('pay is offered only while something is owed and nothing is pending', () => {
  const actions = allowedActions(exchangeMachine, 'REQUESTED', 'customer');
  expect(exchangeActions({ difference: 500 }, actions)).toEqual(['cancel', 'pay']);
  expect(exchangeActions({ difference: -500 }, actions)).toEqual(['cancel']);
  const processing = { id: 'p', status: 'processing' as const, amount: 500 };
  expect(exchangeActions({ difference: 500, payment: processing }, actions)).toEqual(['cancel']);
  expect(owed({ difference: 500, payment: { ...processing, status: 'failed' } })).toBe(500);
  // Goods move only once the difference is settled (the workflow refuses receive and ship before).
  const approved = allowedActions(exchangeMachine, 'APPROVED', 'merchant');
  expect(approved).toEqual(expect.arrayContaining(['receive', 'ship']));
  expect(
    exchangeActions({ difference: 500 }, approved).filter((a) => a === 'receive' || a === 'ship'),
  ).toEqual([]);
  expect(
    exchangeActions({ difference: 500, payment: processing }, approved).filter(
      (a) => a === 'receive' || a === 'ship',
    ),
  ).toEqual([]);
  const settled = exchangeActions(
    { difference: 500, payment: { ...processing, status: 'succeeded' } },
    approved,
  );
  expect(settled).toEqual(expect.arrayContaining(['receive', 'ship']));
  expect(exchangeActions({ difference: -500 }, approved)).toEqual(
    expect.arrayContaining(['receive', 'ship']),
  );
  expect(owed({ difference: 500, payment: { ...processing, status: 'succeeded' } })).toBe(0);
});

test('credited at the price paid; units held elsewhere or gone are refused', () => {
  const items = [line('a', 3, 1000)];
  // 333, 333, 334: each unit its exact share.
  expect(exchangeCredits(items, [{ sku: 'a', quantity: 1 }])).toEqual([
    { sku: 'a', quantity: 1, amount: 333 },
  ]);
  const after = applyExchange(items, exchangeCredits(items, [{ sku: 'a', quantity: 2 }]), 1);
  expect(after[0]).toMatchObject({ exchangedQuantity: 2, exchangedAmount: 666, refundedAmount: 0 });
  expect(consumedUnits(after[0]!)).toBe(2);
  expect(planRefund(after, 0, undefined).lines).toEqual([{ sku: 'a', quantity: 1, amount: 334 }]);
  expect(() => exchangeCredits(after, [{ sku: 'a', quantity: 2 }])).toThrow(RefundError);
  expect(() => exchangeCredits(items, [{ sku: 'a', quantity: 2 }], { a: 2 })).toThrow(RefundError);
  expect(() => exchangeCredits(items, [{ sku: 'b', quantity: 1 }])).toThrow(RefundError);
  // Given back (rejected, cancelled), the units are refundable again, for the same money.
  const reverted = applyExchange(after, exchangeCredits(items, [{ sku: 'a', quantity: 2 }]), -1);
  expect(planRefund(reverted, 0, undefined).amount).toBe(1000);
});

test('any mix of exchanges (kept or given back), goodwill and unit refunds accounts for every line exactly', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ quantity: fc.integer({ min: 1, max: 12 }), total: fc.integer({ min: 0, max: 500_000 }) }),
        { minLength: 1, maxLength: 4 },
      ),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.nat()), { maxLength: 14 }),
      (specs, steps) => {
        let items = specs.map((s, i) => line(`s${i}`, s.quantity, s.total));
        let refunded = 0;
        let credited = 0;
        for (const [kind, pick, size] of steps) {
          const l = items[pick % items.length]!;
          const units = l.quantity - consumedUnits(l);
          try {
            if (kind === 0 && units > 0) {
              const plan = planRefund(items, 0, [{ sku: l.sku, quantity: 1 + (size % units) }]);
              items = applyRefund(items, plan);
              refunded += plan.amount;
            } else if (kind === 1) {
              const left = items.reduce(
                (a, x) => a + x.total - lineRefunded(x) - (x.exchangedAmount ?? 0),
                0,
              );
              if (left === 0) continue;
              const plan = planGoodwill(items, 1 + (size % left));
              items = applyRefund(items, plan);
              refunded += plan.amount;
            } else if (units > 0) {
              const credits = exchangeCredits(items, [{ sku: l.sku, quantity: 1 + (size % units) }]);
              items = applyExchange(items, credits, 1);
              // Every other exchange is given back (rejected, cancelled).
              if (kind === 3) items = applyExchange(items, credits, -1);
              else credited += credits[0]!.amount;
            }
          } catch (err) {
            if (!(err instanceof RefundError)) throw err;
          }
          for (const x of items) {
            expect(lineRefunded(x) + (x.exchangedAmount ?? 0)).toBeLessThanOrEqual(x.total);
            expect(consumedUnits(x)).toBeLessThanOrEqual(x.quantity);
          }
        }
        if (items.some((x) => consumedUnits(x) < x.quantity)) {
          const last = planRefund(items, 0, undefined);
          refunded += last.amount;
          items = applyRefund(items, last);
        }
        // What was refunded and what exchanges were credited is what the lines cost, to the cent.
        expect(refunded + credited).toBe(specs.reduce((a, s) => a + s.total, 0));
      },
    ),
  );
});

test('new units are priced exactly, or refused when an amount could not be exact', () => {
  const products = [
    { sku: 'a', name: 'A', price: '1500' },
    { sku: 'b', name: 'B', price: 100_000_000_000 },
  ];
  expect(priceNewUnits([{ sku: 'a', quantity: 3 }], products)).toEqual([
    { sku: 'a', name: 'A', quantity: 3, unitPrice: 1500, total: 4500 },
  ]);
  // 1e11 × 1000 per line is exact; a hundred such lines (1e16) are past 2^53.
  expect(priceNewUnits([{ sku: 'b', quantity: 1000 }], products)[0]!.total).toBe(1e14);
  const many = Array.from({ length: 100 }, (_, i) => ({ sku: `b${i}`, name: 'B', price: 100_000_000_000 }));
  expect(() =>
    priceNewUnits(
      many.map((p) => ({ sku: p.sku, quantity: 1000 })),
      many,
    ),
  ).toThrow(expect.objectContaining({ code: 'AMOUNT_TOO_LARGE' }));
});
